// Boots Pyodide from the locally served npm package and loads the pytabby wheel
// through web/dist/pyodide-lock.json (no internet needed).
import { loadPyodide } from "/node_modules/pyodide/pyodide.mjs";

export async function bootPytabby({ packages = [] } = {}) {
  const started = performance.now();
  const pyodide = await loadPyodide({
    indexURL: new URL("/node_modules/pyodide/", location.href).href,
    lockFileURL: new URL("/dist/pyodide-lock.json", location.href).href,
  });
  await pyodide.loadPackage(["pytabby", ...packages]);
  pyodide.runPython("import pytabby");
  pyodide.bootMs = performance.now() - started;
  return pyodide;
}
