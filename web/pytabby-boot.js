// Boots Pyodide from web/dist/ (the npm runtime plus a lock file that knows pytabby) and imports pytabby.
import { loadPyodide } from "/dist/pyodide.mjs";

export async function bootPytabby({ packages = [] } = {}) {
  const started = performance.now();
  const pyodide = await loadPyodide({ indexURL: new URL("/dist/", location.href).href });
  await pyodide.loadPackage(["pytabby", ...packages]);
  pyodide.runPython("import pytabby");
  pyodide.bootMs = performance.now() - started;
  return pyodide;
}
