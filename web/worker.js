// pytabby in a plain Pyodide Web Worker: the page sends Python code, the worker runs it.
import { loadPyodide } from "/dist/pyodide.mjs";
import { installPytabby } from "/pytabby-boot.js";

const ready = (async () => {
  const pyodide = await loadPyodide({ indexURL: new URL("/dist/", location.href).href });
  await installPytabby(pyodide); // loadPackage("pytabby-browser") works too, ~70 ms slower on a first package
  pyodide.runPython("import pytabby");
  return pyodide;
})();

self.onmessage = async (event) => {
  const { id, code } = event.data;
  try {
    const pyodide = await ready;
    let result = await pyodide.runPythonAsync(code);
    if (result && typeof result.toJs === "function") {
      const proxy = result;
      try {
        result = proxy.toJs({ dict_converter: Object.fromEntries, create_pyproxies: false });
      } catch {
        result = proxy.toString();  // not data (a function, an object): its repr
      } finally {
        proxy.destroy();
      }
    }
    self.postMessage({ id, result });
  } catch (error) {
    self.postMessage({ id, error: String(error) });
  }
};

ready.then(
  () => self.postMessage({ id: 0, result: "ready" }),
  (error) => self.postMessage({ id: 0, error: String(error) }),
);
