"""File > Import results (suite2p, CaImAn) and File > Export NWB: dialogs, then the worker.

The work is the session's (:mod:`cnmf_gui.session.importing`) and the io layer's
(:mod:`cnmf_gui.io.export_nwb`); the import is read and computed in the worker and applied in
the main thread, like a pipeline run.
"""

from __future__ import annotations

import os
from pathlib import Path

from cnmf_gui.gui import dialogs

SUITE2P, CAIMAN = "suite2p plane folder", "CaImAn HDF5 file"


def import_results(window, results=None, movie=None) -> bool:
    """Ask for the results (a suite2p plane folder or a CaImAn file) and their movie, then import.

    ``results`` and ``movie`` skip the dialogs (tests, scripts).
    """
    from cnmf_gui.gui.file_ops import confirm_discard
    from cnmf_gui.session.importing import TOOL_NAMES, apply_import, prepare_import

    if not confirm_discard(window):
        return False
    if results is None:
        which = window.ask("Import results", "Import the results of which tool? They are checked against "
                           "the movie they were made from, which you choose next.", (SUITE2P, CAIMAN, "Cancel"))
        if which == SUITE2P:
            results = dialogs.choose_folder(window, "suite2p plane folder (suite2p/plane0)")
        elif which == CAIMAN:
            results = dialogs.choose_file(window, "CaImAn results (saved with cnm.save)", "CaImAn (*.hdf5 *.h5)")
        if not results:
            return False
    if movie is None:
        movie = dialogs.choose_file(window, "The movie these results were made from", dialogs.MOVIE_FILTER)
        if not movie:
            return False
    session = window.session
    params = session.params

    def job(progress):
        return prepare_import(results, movie, params, progress=progress)

    def done(prepared):
        apply_import(session, prepared)
        comps = session.components
        tool = TOOL_NAMES[prepared.provenance["tool"]]
        session.message(f"imported {comps.n_components} components from {tool} ({os.path.basename(str(results))})")
    return window.start_job("Importing results", job, done, same_file=False)


def export_nwb(window, path=None, metadata=None) -> bool:
    """Write the session as NWB (accepted components); optional metadata JSON (subject, indicator...)."""
    from cnmf_gui.errors import UserError
    from cnmf_gui.io.export_nwb import export_nwb as write, read_metadata

    session = window.session
    if session.components is None:
        window.show_error("Cannot export", "the session holds no components: run the pipeline or import results")
        return False
    if path is None:
        base = session.path or (Path(session.data.movie_path) if session.data.movie_path else Path("session"))
        path = dialogs.choose_save(window, "Export NWB", str(Path(base).with_suffix(".nwb")), "NWB (*.nwb)")
        if not path:
            return False
        if window.ask("NWB metadata", "NWB files should say the subject, indicator and location (DANDI and "
                      "nwbinspector ask for a subject). Add them from a metadata JSON file?",
                      ("Choose JSON...", "Export without")) == "Choose JSON...":
            metadata = dialogs.choose_file(window, "Metadata JSON", "JSON (*.json)") or None
    try:
        meta = read_metadata(metadata) if metadata else None
    except UserError as exc:
        window.show_error("Cannot export", str(exc))
        return False
    snapshot = session.snapshot()

    def job(progress):
        # The file dialog already asked before replacing an existing file.
        return write(snapshot, path, metadata=meta, force=True)
    return window.start_job("Exporting NWB", job, lambda out: session.message(f"exported {out}"))
