// Validate a .glb/.gltf with the Khronos glTF validator (npm package "gltf-validator").
// Usage: node validate_gltf.mjs PACKAGE_DIR FILE  ->  prints the JSON report on stdout.
import { createRequire } from "module";
import { readFileSync } from "fs";
import { basename } from "path";

const [pkgDir, file] = process.argv.slice(2);
const require = createRequire(import.meta.url);
const validator = require(pkgDir);
const report = await validator.validateBytes(new Uint8Array(readFileSync(file)), {
  uri: basename(file),
  maxIssues: 100,
});
process.stdout.write(JSON.stringify(report));
