'use strict';
// What grew between two heap snapshots of one process, per unit (a subscriber):
//   node bench/lib/heap-diff.js before.heapsnapshot after.heapsnapshot [units] [rows]
// Objects are grouped by kind and constructor; plain objects by their first property names and
// closures by their function's name, so that a group points at the code that made it. Self sizes
// only (no retained sizes): a group's objects are the ones each unit adds, wherever they hang.
const fs = require('node:fs');

function groups(file) {
  const snapshot = JSON.parse(fs.readFileSync(file, 'utf8'));
  const { node_fields, edge_fields, node_types, edge_types } = snapshot.snapshot.meta;
  const { nodes, edges, strings } = snapshot;
  const nf = node_fields.length;
  const ef = edge_fields.length;
  const [TYPE, NAME, SIZE, EDGES] = ['type', 'name', 'self_size', 'edge_count'].map((f) =>
    node_fields.indexOf(f),
  );
  const [ETYPE, ENAME] = ['type', 'name_or_index'].map((f) => edge_fields.indexOf(f));
  const types = node_types[TYPE];
  const edgeTypes = edge_types[ETYPE];
  const byGroup = new Map();
  let edge = 0;
  for (let n = 0; n < nodes.length; n += nf) {
    const type = types[nodes[n + TYPE]];
    let name = strings[nodes[n + NAME]];
    const count = nodes[n + EDGES];
    if (type === 'object' && name === 'Object') {
      const keys = [];
      for (let e = edge; e < edge + count * ef && keys.length < 4; e += ef)
        if (edgeTypes[edges[e + ETYPE]] === 'property') keys.push(strings[edges[e + ENAME]]);
      name = `{${keys.join(',')}}`;
    } else if (type === 'string' || type === 'concatenated string' || type === 'sliced string')
      name = '';
    else if (type === 'code' || type === 'hidden' || type === 'array') name = name.slice(0, 40);
    edge += count * ef;
    const key = `${type}\t${name}`;
    const g = byGroup.get(key) ?? { count: 0, size: 0 };
    g.count++;
    g.size += nodes[n + SIZE];
    byGroup.set(key, g);
  }
  return byGroup;
}

function main() {
  const [before, after, units = '1', rows = '40'] = process.argv.slice(2);
  const a = groups(before);
  const b = groups(after);
  const n = Number(units);
  const diff = [...b]
    .map(([key, g]) => {
      const old = a.get(key) ?? { count: 0, size: 0 };
      return { key, count: (g.count - old.count) / n, size: (g.size - old.size) / n };
    })
    .sort((x, y) => y.size - x.size);
  const total = diff.reduce((s, d) => s + d.size, 0);
  console.log(`grown per unit: ${(total / 1024).toFixed(2)} KiB (self sizes, ${n} units)\n`);
  console.log('bytes/unit  objects/unit  kind  name');
  for (const d of diff.slice(0, Number(rows)))
    console.log(
      `${d.size.toFixed(0).padStart(10)}  ${d.count.toFixed(2).padStart(12)}  ${d.key.replace('\t', '  ')}`,
    );
}

main();
