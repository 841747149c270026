// pytabby's boot script, served at /pytabby-boot.js. One line in any page:
//
//   <script type="module" src="/pytabby-boot.js"></script>
//
// A plain page: boots Pyodide from /dist/ (made by `python -m pytabby dist`), installs pytabby
// (and loads `data-packages="a b"`) and runs `data-run="app.py"` if given. A PyScript page (it has a
// <script type="py">; put this line after PyScript's core.js): installs pytabby into PyScript's own
// Pyodide before the page's scripts run (so the config needs no `packages`); an error or unhandled
// rejection on such a page before its Python has run fails the boot. Either way it sets
// `window.pyodide`, `window.pytabbyReady` (a promise of the Pyodide API, settled when the page's
// Python has run; on a PyScript page whose Python all runs in workers, null),
// `window.pytabbyBoot = {stage, error, failedAt, wasmTrap}` (on an error: the
// stage it interrupted, and whether it was the browser's WebAssembly engine trapping), fires
// `pytabby:boot` events ({detail: that object}) and shows the stage, or the error (class "error"),
// in an element #pytabby-status if the page has one.
//
// A module Web Worker imports only the installer: `import { installPytabby } from "/pytabby-boot.js"`,
// then `await installPytabby(pyodide)` (its Pyodide from /dist/); nothing boots there on import.
// On a PyScript page the boot line installs pytabby into PyScript's workers too
// (`<script type="py" worker>`), before their code runs, when their Pyodide's lock file lists it.

const inPage = typeof WorkerGlobalScope === "undefined" && typeof document !== "undefined";
const ownTag = inPage ? document.querySelector('script[src$="pytabby-boot.js"]') : null;
const STATUS_TEXT = {
  "loading-pyodide": "Loading Pyodide…",
  "loading-packages": "Loading pytabby…",
  "running-app": "Starting the app…",
  "waiting-pyscript": "Waiting for PyScript…",
  ready: "Ready",
  error: "Boot failed",
};

let reached = null; // the last stage before an error

function report(stage, error = null, wasmTrap = false) {
  if (!error) reached = stage;
  window.pytabbyBoot = { stage, error, failedAt: error ? reached : null, wasmTrap };
  dispatchEvent(new CustomEvent("pytabby:boot", { detail: window.pytabbyBoot }));
  const status = document.getElementById("pytabby-status");
  if (status) {
    status.textContent = error ? `${STATUS_TEXT.error}: ${error}` : STATUS_TEXT[stage];
    status.className = stage === "error" ? "error" : stage === "ready" ? "ready" : "loading";
  }
}

async function bootPlain({ packages = [], run = null } = {}) {
  const started = performance.now();
  report("loading-pyodide");
  const indexURL = new URL("/dist/", location.href).href;
  const { loadPyodide } = await import(new URL("pyodide.mjs", indexURL).href);
  const pyodide = await loadPyodide({ indexURL, lockFileURL: new URL("pyodide-lock.json", indexURL).href });
  window.pyodide = pyodide;
  report("loading-packages");
  const loading = performance.now();
  await installPytabby(pyodide);
  pyodide.runPython("import pytabby");
  performance.measure("pytabby:load", { start: loading }); // install + import, read by the benchmark
  if (packages.length) await pyodide.loadPackage(packages);
  pyodide.bootMs = performance.now() - started;
  if (run) {
    report("running-app");
    const response = await fetch(run);
    if (!response.ok) throw new Error(`${run} answered HTTP ${response.status}`);
    await pyodide.runPythonAsync(await response.text(), { filename: run });
  }
  return pyodide;
}

// pytabby is pure Python without dependencies, so its wheel from the lock file is unpacked by
// Pyodide's public unpackArchive: the files loadPackage installs, without loadPackage's installer,
// which a tab's first package starts by compiling tarfile and importlib.metadata from source
// (~70 ms; install + import + first bus in a fresh Chromium tab: 39 ms, through loadPackage 103).
// So pyodide.loadedPackages does not list it.
// `ifListed`: do nothing where the lock file does not list pytabby (a PyScript worker that booted
// another Pyodide, and may not use pytabby at all).
export async function installPytabby(pyodide, { ifListed = false } = {}) {
  const scope = pyodide.toPy({}); // its own globals: the page's stay the app's
  const python = (code) => pyodide.runPython(code, { globals: scope });
  try {
    if (python("import importlib.util; importlib.util.find_spec('pytabby') is not None")) return; // by a PyScript config
    const entry = pyodide.lockfile?.packages["pytabby-browser"];
    if (!entry && ifListed) return;
    if (!pyodide.lockfile) throw new Error(`Pyodide ${pyodide.version} has no pyodide.lockfile: the boot script needs a newer Pyodide`);
    if (!entry) throw new Error("the lock file in /dist/ has no pytabby-browser: make /dist/ with `python -m pytabby dist`");
    const url = new URL(entry.file_name, pyodide.lockfileBaseUrl);
    const digest = Uint8Array.from(entry.sha256.match(/../g), (byte) => parseInt(byte, 16));
    let response;
    try {
      response = await fetch(url, { integrity: `sha256-${btoa(String.fromCharCode(...digest))}` });
    } catch (error) { // the browser says only "failed to fetch" when the hash differs
      throw new Error(`could not fetch ${url}, or its bytes are not the ones the lock file hashes: ${error.message ?? error}`);
    }
    if (!response.ok) throw new Error(`${url} answered HTTP ${response.status}`);
    const site = python("import site; site.getsitepackages()[0]");
    pyodide.unpackArchive(await response.arrayBuffer(), "wheel", { extractDir: site });
    // The import system may have listed site-packages before the unpack: forget that listing only
    // (importlib.invalidate_caches() would import importlib.metadata, ~30 ms).
    python(`import sys
finder = sys.path_importer_cache.get(${JSON.stringify(site)})
if finder is not None: finder.invalidate_caches()`);
  } finally {
    scope.destroy();
  }
}

// PyScript boots its own Pyodide; its hooks hand it over. Importing core.js by the page's own
// URL gives the module instance the page already runs.
async function bootPyScript() {
  report("waiting-pyscript");
  const core = [...document.querySelectorAll('script[type="module"][src]')].find((s) => /core\.js(\?|$)/.test(s.src));
  if (!core) throw new Error("a PyScript page must load @pyscript/core's core.js before /pytabby-boot.js");
  const { hooks } = await import(core.src);
  // PyScript sends a worker its hooks as source text once it has fetched the worker's code: a task
  // after core.js's evaluation at the earliest, so this continuation (a microtask after it) adds the
  // hook first. No closure survives the text, so the hook's source names this script's URL.
  hooks.worker.onBeforeRunAsync.add(Function(`return async ({ interpreter }) => {
    const { installPytabby } = await import(${JSON.stringify(import.meta.url)});
    await installPytabby(interpreter, { ifListed: true });
  }`)());
  if (!document.querySelector('script[type="py"]:not([worker]), py-script:not([worker])')) return null; // Python only in workers
  // PyScript awaits its onReady hooks before it runs a script: pytabby is installed by then, without
  // micropip (which a config's `packages` starts: ~300 ms more on a first visit), unless the config
  // installed it.
  let installing = null; // once: the hook runs for each of the page's scripts
  const interpreter = new Promise((resolve, reject) => hooks.main.onReady.add(async (wrap) => {
    try {
      if (!installing) {
        report("loading-packages");
        installing = installPytabby(wrap.interpreter);
      }
      await installing;
      resolve(wrap.interpreter);
    } catch (error) {
      reject(error);
      throw error;
    }
  }));
  const done = new Promise((resolve) => addEventListener("py:all-done", resolve, { once: true }));
  // An error on the page fails the boot; so does an unhandled rejection: PyScript leaves a failed
  // interpreter load (a wasm trap in Pyodide's startup, a missing pyodide.mjs) unhandled, and the
  // page would wait forever.
  const failed = new Promise((_, reject) => {
    addEventListener("error", (e) => reject(e.error ?? new Error(e.message)), { once: true });
    addEventListener("unhandledrejection", (e) => reject(e.reason), { once: true });
  });
  const pyodide = await Promise.race([interpreter, failed]);
  window.pyodide = pyodide;
  await Promise.race([done, failed]);
  return pyodide;
}

function bootThisPage() {
  const isPyScript = document.querySelector('script[type="py"], py-script') !== null;
  const options = {
    packages: (ownTag?.dataset.packages ?? "").split(/\s+/).filter(Boolean),
    run: ownTag?.dataset.run ?? null,
  };
  window.pytabbyReady = (isPyScript ? bootPyScript() : bootPlain(options)).then(
    (pyodide) => {
      report("ready");
      return pyodide;
    },
    (error) => {
      report("error", String(error?.message ?? error), error instanceof WebAssembly.RuntimeError);
      throw error;
    },
  );
  window.pytabbyReady.catch(() => {}); // reported above; awaiting code still sees the rejection
}

if (inPage) bootThisPage();

// For pages that boot from their own module: `const pyodide = await bootPytabby({packages})`.
export async function bootPytabby({ packages = [] } = {}) {
  const pyodide = await window.pytabbyReady;
  if (packages.length) await pyodide.loadPackage(packages);
  return pyodide;
}
