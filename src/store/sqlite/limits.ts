/**
 * What SQLite takes of records.db's connections' memory, as plain numbers: read by the store and by the settings
 * (which must not load the SQLite driver to check a number).
 */

/**
 * The most of a file SQLite maps: SQLITE_MAX_MMAP_SIZE in better-sqlite3's build (0x7fff0000 bytes, just under 2 GiB).
 * A larger mmap_size is cut to it; asked for exactly, the setting reads back as what is mapped.
 */
export const SQLITE_MAP_MOST_BYTES = 0x7fff0000;
/** SQLite's page cache for records.db's connections, at least (the request path's may take more: records-cache.ts) */
export const LEAST_CACHE_BYTES = 64 << 20;
