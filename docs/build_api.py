"""Build the API reference (HTML) from the docstrings with pdoc: `python docs/build_api.py [OUT]`.

Install the docs extra first (`pip install -e '.[docs]'`). The reference covers the public
modules -- `stage` (everything `import stage as st` exports), `stage.nn` (with `functional` and
`init`), `stage.optim`, `stage.safetensors`, `stage.trees`, `stage.datasets`, `stage.deploy`,
`stage.errors`, `stage.pytree`, `stage.progress`, `stage.distributed` -- and leaves out the compiler's internals. The default output directory is
`docs/api/` (not committed: build it when you need it; tests/test_docs.py builds it on every run so
it cannot rot).
"""
from __future__ import annotations

import sys
from pathlib import Path

# `stage` brings the submodules its __all__ names (nn with functional and init, optim,
# safetensors, trees, datasets, pytree); the others are listed
PUBLIC = ["stage", "stage.deploy", "stage.errors", "stage.progress", "stage.distributed"]
# submodules of the public packages that are implementation, not API
PRIVATE = [r"!stage\.(codegen|cps|ir|program|executable|openblas|compile|control|train"
           r"|threads|names|inputs|runtime_cpp)($|\.)",
           r"!stage\.deploy\.(signature|params|export)$",
           r"!stage\.frontend\.\w+$",          # the API is stage.frontend's own three names
           r"!stage\.distributed\.(comm|ddp|sampler)$"]


def build(out: Path) -> Path:
    """Render the reference into `out` (created); returns the path of its index page."""
    import pdoc
    import pdoc.render
    pdoc.render.configure(docformat="numpy", footer_text="stage API reference",
                          show_source=False)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    pdoc.pdoc(*PUBLIC, *PRIVATE, output_directory=out)
    return out / "index.html"


if __name__ == "__main__":
    root = Path(__file__).resolve().parent
    sys.path.insert(0, str(root.parent))
    print(build(Path(sys.argv[1]) if len(sys.argv) > 1 else root / "api"))
