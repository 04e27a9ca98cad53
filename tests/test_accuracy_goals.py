"""benchmarks/accuracy_goals.py on hand-made sweep results: each goal met, not met and n/a."""

import json

from benchmarks.accuracy_goals import check, main


def _tool(rmse, worst, f1, r_c=None, r_f=0.99, r_s=0.9):
    res = {"shift": {"rmse": rmse, "worst": worst, "n_over_half": int(worst > 0.5)},
           "accepted": {"f1": f1}, "r_F": r_f, "r_S": r_s}
    if r_c is not None:
        res["r_C"] = r_c
    return res


def _result(row, seed, ours, s2p):
    return {"row": row, "seed": seed, "commit": "abc1234", "ours": ours, "suite2p": s2p}


def test_every_goal_met():
    results = [_result("A", s, _tool(0.02, 0.1, 0.97, r_c=0.995, r_f=0.99, r_s=0.96),
                       _tool(0.03, 0.1, 0.92, r_s=0.955)) for s in (1, 2)]
    goals, named = check(results)
    assert {k: g["met"] for k, g in goals["A"].items()} == dict(motion=True, f1=True, traces=True, spikes=True)
    assert all(g["met"] for g in named["A"].values())


def test_each_goal_can_fail():
    # motion: RMSE above suite2p's; F1: under 0.95 where suite2p >= 0.9; C below F; spikes under 0.95
    bad = [_result("B", 1, _tool(0.05, 0.2, 0.93, r_c=0.98, r_f=0.99, r_s=0.94), _tool(0.04, 0.1, 0.91, r_s=0.96))]
    g = check(bad)[0]["B"]
    assert [g[k]["met"] for k in ("motion", "f1", "traces", "spikes")] == [False, False, False, False]
    assert "0.050 vs s2p 0.040" in g["motion"]["text"]
    # one frame of one seed over 0.5 px fails the row even though its mean RMSE is below suite2p's
    rs = [_result("C", 1, _tool(0.02, 0.1, 0.99, r_c=1, r_f=0.9), _tool(0.03, 0.1, 0.9)),
          _result("C", 2, _tool(0.02, 0.7, 0.99, r_c=1, r_f=0.9), _tool(0.03, 0.1, 0.9))]
    assert check(rs)[0]["C"]["motion"]["met"] is False
    # the mean decides, but a seed above suite2p is named
    rs = [_result("C", 1, _tool(0.02, 0.1, 0.99, r_c=1, r_f=0.9), _tool(0.04, 0.1, 0.9)),
          _result("C", 2, _tool(0.035, 0.1, 0.99, r_c=1, r_f=0.9), _tool(0.03, 0.1, 0.9))]
    motion = check(rs)[0]["C"]["motion"]
    assert motion["met"] is True and "seed 2: 0.035 > 0.030" in motion["text"] and "seed 1" not in motion["text"]
    # F1 more than 0.02 below suite2p's fails even where suite2p is under 0.9
    low = [_result("small", 1, _tool(0.02, 0.1, 0.85, r_c=1), _tool(0.03, 0.1, 0.88))]
    assert check(low)[0]["small"]["f1"]["met"] is False
    near = [_result("small", 1, _tool(0.02, 0.1, 0.87, r_c=1), _tool(0.03, 0.1, 0.88))]
    assert check(near)[0]["small"]["f1"]["met"] is True


def test_not_required_and_missing_are_na():
    # suite2p's r(S) under 0.95: the spike goal is not required; suite2p failed: motion and F1 n/a
    rs = [_result("snr3", 1, _tool(0.02, 0.1, 0.9, r_c=1, r_s=0.5), {"error": "boom"})]
    g = check(rs)[0]["snr3"]
    assert g["spikes"]["met"] is None and g["motion"]["met"] is None and g["f1"]["met"] is None
    assert g["traces"]["met"] is True


def test_last_run_wins_and_cli(tmp_path, capsys):
    old = [_result("A", 1, _tool(0.2, 0.9, 0.5, r_c=0.9), _tool(0.03, 0.1, 0.9))]
    new = [_result("A", 1, _tool(0.02, 0.1, 0.97, r_c=0.995), _tool(0.03, 0.1, 0.9))]
    (tmp_path / "old.json").write_text(json.dumps(old))
    (tmp_path / "new.json").write_text(json.dumps(new))
    out = tmp_path / "goals.md"
    assert main([str(tmp_path / "old.json"), str(tmp_path / "new.json"), "--out", str(out)]) == 0
    text = out.read_text()
    assert "**NOT MET**" not in text.split("Met / not met")[0]
    assert "| A | 1 | met: RMSE 0.020 vs s2p 0.030" in text
    assert main([str(tmp_path / "nope.json")]) == 2
    assert "no such results file" in capsys.readouterr().err
