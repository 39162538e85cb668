#!/usr/bin/env node
// `npm run up` on any Node >= 18: the bootstrap (Node check, Docker check, install; bootstrap.cjs),
// then the typed rest (up.ts) on the runtime Node.
"use strict";
const path = require("node:path");
const { realDeps, upBootstrap } = require("../core/bootstrap.cjs");

process.exitCode = upBootstrap(realDeps(path.resolve(__dirname, "..", "..")), process.argv.slice(2));
