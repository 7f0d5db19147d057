"""Where the files the service ships are found: the ontology, the data, the saved queries and the browser code.

In a checkout (and an editable install) they are read where researchers edit them: ontology/, data/ and
queries/ at the repository's root, and node_modules/ that `npm ci` fills from package-lock.json. An installed
package has no repository beside it, so a wheel carries copies of the same folders in service/_shipped/ (setup.py
puts them there when the wheel is built); the service then reads those. This module names what is shipped and
decides where it is read from, for the settings (service/config.py), the /assets/ routes and Swagger UI. It uses
the standard library only, as setup.py reads it while building.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
CHECKOUT = PACKAGE.parent
# Inside an installed wheel only; never in a checkout (setup.py writes it to the build folder, not the sources).
IN_PACKAGE = PACKAGE / "_shipped"
INSTALLED = IN_PACKAGE.is_dir()
# The folder holding ontology/, data/, queries/ and node_modules/.
ROOT = IN_PACKAGE if INSTALLED else CHECKOUT
NODE_MODULES = ROOT / "node_modules"

# What a wheel carries of the repository, relative to its root: the ontology, vocabularies and shapes, the
# studies (seed and examples), the reference lists (with the README naming their sources) and the saved queries.
DATA_FOLDERS = ("ontology", "data/studies", "data/examples", "data/reference", "queries")

# The only files of node_modules the pages may load: name under /assets/ -> path under node_modules/.
VENDOR_ASSETS: Mapping[str, str] = {
    "yasgui.min.js": "@zazuko/yasgui/build/yasgui.min.js",
    "yasgui.min.css": "@zazuko/yasgui/build/yasgui.min.css",
    "chart.umd.min.js": "chart.js/dist/chart.umd.min.js",
}
# Swagger UI (the page at /api/docs): its folder under node_modules/ and the files of it served.
SWAGGER_UI = "swagger-ui-dist"
SWAGGER_FILES = frozenset(
    {"swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "favicon-32x32.png"}
)

# What to do when browser code is missing: said by /assets/, /api/docs/ and (in words of its own) by the pages.
ASSETS_FIX = (
    "run scripts/setup in the repository (it runs `npm ci`); an installed package carries them only when built "
    "with `python -m build`, so reinstall it from such a wheel"
)


def browser_files() -> list[str]:
    """Every file of node_modules the service serves, relative to node_modules/: what a wheel must carry."""
    return sorted({*VENDOR_ASSETS.values(), *(f"{SWAGGER_UI}/{name}" for name in SWAGGER_FILES)})
