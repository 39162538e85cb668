// Docker HEALTHCHECK: exit 0 iff GET http://127.0.0.1:$PORT/api/health answers 200 within 2 s.
import http from "node:http";

const port = Number(process.env.PORT || 8080);
const req = http.get({ host: "127.0.0.1", port, path: "/api/health", timeout: 2000 }, (res) => {
  res.resume();
  process.exit(res.statusCode === 200 ? 0 : 1);
});
req.on("timeout", () => {
  req.destroy();
  process.exit(1);
});
req.on("error", () => process.exit(1));
