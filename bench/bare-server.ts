/** The ceiling: the smallest useful node:http server, answering a fixed JSON body. */
import http from "node:http";

const body = JSON.stringify({ Response: { Result: "0", RequestId: "00000000-0000-4000-8000-000000000000" } });
const server = http.createServer((req, res) => {
  req.resume();
  req.on("end", () => res.writeHead(200, { "content-type": "application/json", "content-length": body.length }).end(body));
});
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === "object" && address ? address.port : 0}\n`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
