import path from "node:path";

/** The package root: compiled files live in dist/src/common, the data tables in tables/. */
export const packageRoot = path.resolve(__dirname, "..", "..", "..");
export const tablesDir = path.join(packageRoot, "tables");
