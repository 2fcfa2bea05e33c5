// The agent app's ES modules (web/static/app/*.js) must not import each other in a circle: the
// project rule is one-way dependencies (see the comment at the top of web/static/app/main.js).
//
// This reads the static `import … from './x.js'` (and `export … from './x.js'`, and bare
// `import './x.js'`) statements of every module, builds the graph and fails on any cycle, naming
// it. It needs no server: plain `npm test` in tests/node runs it with the pusher-js test.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const APP = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../web/static/app');

/** The sibling modules a module's source imports, e.g. ['dom.js', 'state.js']. */
function localImports(source) {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const found = new Set();
  const re = /^\s*(?:import|export)\b[^;'"]*?(?:\bfrom\s*)?['"]\.\/([^'"/]+\.js)['"]/gm;
  for (const m of code.matchAll(re)) found.add(m[1]);
  return [...found].sort();
}

/** Reads web/static/app/*.js into Map(file -> sorted local imports). */
function readGraph(dir) {
  const graph = new Map();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.js')).sort()) {
    graph.set(file, localImports(readFileSync(path.join(dir, file), 'utf8')));
  }
  return graph;
}

/**
 * The cycles a depth-first search closes, each as [a, b, …, a]: [] exactly when the graph is
 * acyclic (any cycle gives at least one, though not every cycle of a tangle is listed).
 */
function findCycles(graph) {
  const cycles = [];
  const seen = new Set();
  const state = new Map(); // file -> 'active' while on the DFS stack, 'done' after
  const stack = [];
  const visit = (file) => {
    state.set(file, 'active');
    stack.push(file);
    for (const dep of graph.get(file) || []) {
      if (state.get(dep) === 'active') {
        const cycle = [...stack.slice(stack.indexOf(dep)), dep];
        const key = [...cycle.slice(0, -1)].sort().join(' ');
        if (!seen.has(key)) {
          seen.add(key);
          cycles.push(cycle);
        }
      } else if (!state.has(dep)) {
        visit(dep);
      }
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return cycles;
}

describe('web/static/app module graph', () => {
  const graph = readGraph(APP);

  it('reads the modules and their imports', () => {
    assert.ok(graph.has('main.js'), `no main.js in ${APP}`);
    assert.ok(graph.get('main.js').length > 0, 'main.js imports nothing: the import parser is broken');
    for (const [file, deps] of graph) {
      for (const dep of deps) assert.ok(graph.has(dep), `${file} imports ./${dep}, which does not exist`);
    }
  });

  it('has no import cycle', () => {
    const cycles = findCycles(graph);
    assert.deepEqual(cycles.map((c) => c.join(' → ')), [], `import cycles in web/static/app:\n${cycles.map((c) => `  ${c.join(' → ')}`).join('\n')}`);
  });

  it('detects a cycle when there is one (self-check)', () => {
    assert.deepEqual(localImports("import { a } from './a.js';\nimport {\n  b,\n} from './b.js';\nimport './c.js';\nexport { d } from './d.js';\n// import { x } from './x.js';\nimport { y } from '../y.js';"), ['a.js', 'b.js', 'c.js', 'd.js']);
    assert.deepEqual(findCycles(new Map([['a.js', ['b.js']], ['b.js', ['c.js']], ['c.js', ['a.js']], ['d.js', ['a.js']]])), [['a.js', 'b.js', 'c.js', 'a.js']]);
    assert.deepEqual(findCycles(new Map([['a.js', ['b.js', 'c.js']], ['b.js', ['c.js']], ['c.js', []]])), []);
  });
});
