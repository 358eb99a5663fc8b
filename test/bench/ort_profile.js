// Per-node times of ONNX Runtime (onnxruntime-node, CPU) on one model, for
// op_profile.py. Usage: node ort_profile.js MODEL THREADS RUNS OUT_PREFIX
// [NAME=D0xD1x... ...]. Runs the model RUNS times after a warm-up with
// ORT's profiler on, then prints one JSON line per node: the median of its
// kernel time over the runs (us), its op type and its output shape.
'use strict';
const ort = require('onnxruntime-node');
const fs = require('fs');
const path = require('path');

function profileFiles(prefix) {
  const dir = path.dirname(prefix), base = path.basename(prefix) + '_';
  return fs.readdirSync(dir).filter((f) => f.startsWith(base) && f.endsWith('.json'))
    .map((f) => path.join(dir, f)).sort();
}

(async () => {
  const [model, threads, runs, prefix, ...shapes] = process.argv.slice(2);
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ['cpu'], intraOpNumThreads: +threads, interOpNumThreads: 1,
    executionMode: 'sequential', graphOptimizationLevel: 'all',
    enableProfiling: true, profileFilePrefix: prefix,
  });
  const feeds = {};
  for (const spec of shapes) {
    const [name, dims] = spec.split('=');
    const shape = dims.split('x').map(Number);
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = Math.random() * 2 - 1;
    feeds[name] = new ort.Tensor('float32', data, shape);
  }
  for (let i = 0; i < +runs + 3; i++) await session.run(feeds);
  // endProfiling writes PREFIX_<date>.json (it returns no name in every version).
  const before = new Set(profileFiles(prefix));
  session.endProfiling();
  const file = profileFiles(prefix).find((f) => !before.has(f)) || profileFiles(prefix).pop();
  if (!file) throw new Error('ONNX Runtime wrote no profile at ' + prefix + '_*.json');
  const events = JSON.parse(fs.readFileSync(file, 'utf8'));
  fs.unlinkSync(file);
  const byNode = new Map();
  const suffix = '_kernel_time';
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith(suffix)) continue;
    const name = e.name.slice(0, -suffix.length);
    if (!byNode.has(name)) byNode.set(name, { op: e.args.op_name, shape: e.args.output_type_shape, us: [] });
    byNode.get(name).us.push(e.dur);
  }
  const runTimes = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').map((e) => e.dur);
  const median = (v) => { const s = [...v].sort((a, b) => a - b); return s[s.length >> 1]; };
  // The first runs are warm-up: keep each node's last RUNS times.
  for (const [name, n] of byNode)
    console.log(JSON.stringify({ node: name, op: n.op, shape: n.shape, us: median(n.us.slice(-runs)) }));
  console.log(JSON.stringify({ run_us: median(runTimes.slice(-runs)) }));
})().catch((e) => { console.error(String(e)); process.exit(1); });
