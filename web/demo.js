// Boots pytabby, installs the demo's Python modules (they import each other) and imports the last one
// into the page's Python globals.
import { bootPytabby } from "/pytabby-boot.js";

function showError(error) {
  const status = document.getElementById("pytabby-status");
  status.textContent = `Failed: ${error}`;
  status.className = "error";
}

export function runDemo(modules) {
  window.pytabbyReady = bootPytabby().then(async (pyodide) => {
    window.pyodide = pyodide;
    for (const name of modules) {
      const response = await fetch(`/${name}.py`);
      if (!response.ok) throw new Error(`/${name}.py: HTTP ${response.status}`);
      pyodide.FS.writeFile(`${pyodide.FS.cwd()}/${name}.py`, await response.text());
    }
    const main = modules.at(-1);
    pyodide.globals.set(main, pyodide.pyimport(main));  // as `chat` / `dashboard` for tests and the console
    return pyodide;
  });
  window.pytabbyReady.catch(showError);
}
