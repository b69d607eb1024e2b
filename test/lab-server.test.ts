import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { resolveRequestPath, startLabServer } from "../src/cli/lab-server.js";
import { dataDir, repoRoot, withoutDataDir } from "./helpers.js";

const SECRET = "top secret: must never be served";

/** A GET with the path sent exactly as written (no normalisation by a URL parser). */
function get(
  port: number,
  rawPath: string,
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path: rawPath, method: "GET" }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("the lab server", () => {
  let dir: string;
  let root: string;
  let server: Awaited<ReturnType<typeof startLabServer>>;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "herograd-lab-"));
    root = join(dir, "lab");
    mkdirSync(join(root, "assets"), { recursive: true });
    writeFileSync(join(root, "index.html"), "<!doctype html><title>lab</title>");
    writeFileSync(join(root, "assets", "app.js"), "console.log('lab');");
    writeFileSync(join(dir, "secret.txt"), SECRET);
    writeFileSync(join(dir, "names.txt"), "emma\nolivia\n");
    symlinkSync(join(dir, "secret.txt"), join(root, "link.txt"));
    server = await startLabServer({ root, port: 0, data: { "names.txt": join(dir, "names.txt") } });
  });

  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("binds to 127.0.0.1 by default and prints a localhost URL", () => {
    const address = server.server.address();
    assert.ok(address && typeof address === "object");
    assert.equal(address.address, "127.0.0.1");
    assert.equal(server.url, `http://127.0.0.1:${server.port}/`);
  });

  test("serves the built lab with cross-origin isolation headers", async () => {
    const index = await get(server.port, "/");
    assert.equal(index.status, 200);
    assert.match(index.body, /<title>lab<\/title>/);
    assert.equal(index.headers["cross-origin-opener-policy"], "same-origin");
    assert.equal(index.headers["cross-origin-embedder-policy"], "require-corp");
    assert.match(String(index.headers["content-type"]), /text\/html/);
    const js = await get(server.port, "/assets/app.js?v=1");
    assert.equal(js.status, 200);
    assert.match(String(js.headers["content-type"]), /javascript/);
    const missing = await get(server.port, "/nope.js");
    assert.equal(missing.status, 404);
    assert.equal(missing.headers["cross-origin-embedder-policy"], "require-corp");
  });

  test("path traversal gets 404 and never a file outside the root", async () => {
    const attempts = [
      "/../secret.txt",
      "/assets/../../secret.txt",
      "/./../secret.txt",
      "/%2e%2e/secret.txt",
      "/%2E%2E/secret.txt",
      "/.%2e/secret.txt",
      "/%2e./secret.txt",
      "/..%2fsecret.txt",
      "/..%2Fsecret.txt",
      "/%2e%2e%2fsecret.txt",
      "/assets/%2e%2e/%2e%2e/secret.txt",
      "/%252e%252e/secret.txt",
      "/%252e%252e%252fsecret.txt",
      "/..%252fsecret.txt",
      "/%25252e%25252e/secret.txt",
      "/..%5csecret.txt",
      "/..%5Csecret.txt",
      "/..\\secret.txt",
      "/assets/..%00/secret.txt",
      "/%c0%ae%c0%ae/secret.txt",
      "/..;/secret.txt",
      `/${"../".repeat(8)}etc/passwd`,
      "/link.txt",
      "/data/../secret.txt",
      "/data/secret.txt",
      "/data/%2e%2e%2fsecret.txt",
    ];
    for (const path of attempts) {
      const res = await get(server.port, path);
      assert.equal(res.status, 404, `${path} → ${res.status}`);
      assert.ok(!res.body.includes(SECRET), `${path} leaked the file`);
      assert.ok(!res.body.includes("root:"), `${path} leaked /etc/passwd`);
    }
  });

  test("serves only the data files it was given, by name", async () => {
    const names = await get(server.port, "/data/names.txt");
    assert.equal(names.status, 200);
    assert.equal(names.body, "emma\nolivia\n");
    assert.equal((await get(server.port, "/data/other.txt")).status, 404);
  });

  test("only GET and HEAD", async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port: server.port, path: "/", method: "POST" }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      req.end();
    });
    assert.equal(status, 405);
  });

  test("resolveRequestPath keeps every answer inside the root", () => {
    assert.equal(resolveRequestPath(root, "/"), join(root, "index.html"));
    assert.equal(resolveRequestPath(root, "/assets/app.js"), join(root, "assets", "app.js"));
    assert.equal(resolveRequestPath(root, "/a%20b.txt"), join(root, "a b.txt"));
    for (const bad of [
      "/../x",
      "/%2e%2e/x",
      "/%252e%252e/x",
      "/a/..%2f..%2fx",
      "relative",
      "/a\\..\\x",
      "/%E0%A4%A",
    ]) {
      assert.equal(resolveRequestPath(root, bad), undefined, bad);
    }
  });
});

test("`hero lab --no-build` serves dist/lab on 127.0.0.1 and prints the URL", {
  timeout: 20_000,
}, async (t) => {
  if (!existsSync(join(repoRoot, "dist", "lab", "index.html"))) {
    t.skip("the lab is not built (npm run build builds it)");
    return;
  }
  const child = spawn(
    process.execPath,
    [join(repoRoot, "dist", "src", "cli", "main.js"), "lab", "--no-build", "--port", "0"],
    {
      cwd: repoRoot,
      // One process (no re-run with V8 flags), so that killing it stops the server.
      env: { ...withoutDataDir(), HERO_NO_RESPAWN: "1", HOME: mkdtempSync(join(tmpdir(), "hero-home-")) },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        const m = /herograd lab: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.on("exit", (code) => reject(new Error(`hero lab exited with ${code}: ${out}`)));
    });
    const port = Number(new URL(url).port);
    const index = await get(port, "/");
    assert.equal(index.status, 200);
    assert.match(index.body, /herograd lab/);
    assert.equal(index.headers["cross-origin-embedder-policy"], "require-corp");
    assert.equal((await get(port, "/../package.json")).status, 404);
    // With HERO_DATA_DIR unset and no cache, the data sets herograd ships are served by name, the folder never.
    for (const file of ["names.txt", "tinyshakespeare.txt", "taylorswift.txt"]) {
      const served = await get(port, `/data/${file}`);
      assert.equal(served.status, 200, file);
      assert.equal(served.body, readFileSync(join(dataDir, file), "utf8"), file);
    }
    assert.equal((await get(port, "/data/")).status, 404);
    assert.equal((await get(port, "/data")).status, 404);
  } finally {
    child.kill("SIGTERM");
  }
});
