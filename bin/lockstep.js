#!/usr/bin/env node
// The compiled CLI (`npm run build`, run by `npm install` through `prepare`).
import '../dist/cli.js';
