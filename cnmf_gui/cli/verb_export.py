"""``cnmf-gui export SESSION.h5 --csv DIR [--all]``: write curated traces for other tools."""

from __future__ import annotations

NAME = "export"
HELP = "export a session's traces and component table (accepted components unless --all)"


def add_arguments(parser) -> None:
    parser.add_argument("session", help="session file (.h5) written by cnmf-gui")
    parser.add_argument("--csv", metavar="DIR",
                        help="folder for traces_C/S/F/dff.csv and components.csv (created if missing)")
    parser.add_argument("--all", action="store_true",
                        help="export every component with its status, not only the accepted ones")


def run(args) -> int:
    from cnmf_gui.errors import UserError
    from cnmf_gui.io.export_csv import export_csv
    from cnmf_gui.io.session_file import load_session

    outputs = [name for name in ("csv", "nwb") if getattr(args, name, None)]
    if not outputs:
        raise UserError("export: nothing to write: give --csv DIR")
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
    return 0
