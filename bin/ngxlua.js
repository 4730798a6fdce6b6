#!/usr/bin/env -S node --max-semi-space-size=32 --no-parallel-scavenge
// the flag: src/process/v8flags.ts
import '../dist/src/cli/main.js';
