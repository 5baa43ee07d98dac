// Runs the web decoder's evaluator under node for the parity test.
// stdin: {"rules": <rules document>, "now": <int>, "tokens": [<string>, ...]}
// stdout: [{"findings": [...], "header": {...}|null, "payload": {...}|null}, ...]
"use strict";
const path = require("path");
const decoder = require(path.resolve(process.argv[2]));

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  const job = JSON.parse(input);
  const rules = decoder.compileRules(job.rules);
  const results = job.tokens.map((token) => {
    const report = decoder.lintToken(token, job.now, rules);
    return {
      findings: report.findings,
      header: report.header === null ? null : decoder.toPlain(report.header),
      payload: report.payload === null ? null : decoder.toPlain(report.payload),
    };
  });
  process.stdout.write(JSON.stringify(results));
});
