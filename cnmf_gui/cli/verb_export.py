"""``cnmf-gui export SESSION.h5 [--csv DIR] [--nwb OUT.nwb [--metadata META.json] [--force]]
[--suite2p-iscell PLANE_FOLDER] [--all]``: write curated traces (or statuses) for other tools."""

from __future__ import annotations

NAME = "export"
HELP = "export a session's traces and component table (accepted components unless --all)"


def add_arguments(parser) -> None:
    parser.add_argument("session", help="session file (.h5) written by cnmf-gui")
    parser.add_argument("--csv", metavar="DIR",
                        help="folder for traces_C/S/F/dff.csv and components.csv (created if missing)")
    parser.add_argument("--nwb", metavar="OUT.nwb",
                        help="write an NWB file (needs pynwb: pip install 'cnmf-gui[nwb]')")
    parser.add_argument("--metadata", metavar="META.json",
                        help="for --nwb: JSON object with session_description, indicator, location, "
                             "excitation_lambda, emission_lambda, device, subject, session_start_time")
    parser.add_argument("--corrected", metavar="CORRECTED",
                        help="for --nwb: a motion-corrected movie file (cnmf-gui motion) to link, with the raw "
                             "movie, in a MotionCorrection (linked, not copied)")
    parser.add_argument("--force", action="store_true", help="for --nwb: replace an existing file")
    parser.add_argument("--suite2p-iscell", metavar="PLANE_FOLDER",
                        help="write the curated statuses as that suite2p plane folder's iscell.npy (a session "
                             "imported from it; the old file is kept as iscell.before_cnmf_gui.npy)")
    parser.add_argument("--all", action="store_true",
                        help="export every component with its status, not only the accepted ones")


def run(args) -> int:
    from cnmf_gui.errors import UserError
    from cnmf_gui.io.export_csv import export_csv
    from cnmf_gui.io.session_file import load_session

    outputs = [name for name in ("csv", "nwb", "suite2p_iscell") if getattr(args, name, None)]
    if not outputs:
        raise UserError("export: nothing to write: give --csv DIR, --nwb FILE.nwb or --suite2p-iscell PLANE_FOLDER")
    meta = None
    if getattr(args, "metadata", None):
        from cnmf_gui.io.export_nwb import read_metadata
        meta = read_metadata(args.metadata)
    data = load_session(args.session)
    if getattr(args, "csv", None):
        written = export_csv(data, args.csv, include_all=args.all)
        comps = data.components
        n = comps.n_components if args.all else int((comps.status == 1).sum())
        what = "components" if args.all else "accepted components"
        print(f"exported {n} {what} of {comps.n_components} to {args.csv}: "
              + ", ".join(p.name for p in written))
        if n == 0 and not args.all:
            print("note: no component is accepted yet; accept some, or export all with --all")
    if getattr(args, "nwb", None):
        from cnmf_gui.io.export_nwb import export_nwb
        out = export_nwb(data, args.nwb, include_all=args.all, metadata=meta, force=args.force,
                         corrected=getattr(args, "corrected", None))
        comps = data.components
        n = comps.n_components if args.all else int((comps.status == 1).sum())
        print(f"exported {n} of {comps.n_components} components to {out}")
    if getattr(args, "suite2p_iscell", None):
        from cnmf_gui.io.export_suite2p import export_suite2p_iscell
        done = export_suite2p_iscell(data, args.suite2p_iscell)
        kept = f"; suite2p's original kept as {done.backup}" if done.backup else ""
        print(f"wrote {done.path}: {done.n_cells} of {done.n_rois} ROIs are cells{kept}")
        if done.n_gone:
            print(f"note: {done.n_gone} ROI(s) were merged or split here and are written as not a cell")
    return 0
