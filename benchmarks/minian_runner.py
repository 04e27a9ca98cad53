"""Run Minian 2.0.2's pipeline (its notebook's default parameters, 2 dask workers) headless on a
movie saved as .npy, and save its footprints and traces. Runs under Minian's own Python
(``/work/venv-minian/bin/python benchmarks/minian_runner.py MOVIE.npy OUT.npz WORKDIR``); never
imported by cnmf_gui. Peak memory is the largest summed resident memory of this process and its
children (the dask workers), sampled every 0.2 s.
"""

import os
import sys
import threading
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


class PeakMemory(threading.Thread):
    def __init__(self):
        super().__init__(daemon=True)
        import psutil
        self.proc = psutil.Process()
        self.peak = 0
        self.running = True

    def run(self):
        while self.running:
            try:
                procs = [self.proc] + self.proc.children(recursive=True)
                self.peak = max(self.peak, sum(p.memory_info().rss for p in procs if p.is_running()))
            except Exception:
                pass
            time.sleep(0.2)


def main(movie_path, out_path, workdir):
    import dask
    import numpy as np
    import xarray as xr
    from dask.distributed import Client, LocalCluster
    from minian.cnmf import (compute_trace, get_noise_fft, unit_merge, update_background, update_spatial,
                             update_temporal)
    from minian.initialization import initA, initC, ks_refine, pnr_refine, seeds_init, seeds_merge
    from minian.motion_correction import apply_transform, estimate_motion
    from minian.preprocessing import denoise, remove_background
    from minian.utilities import TaskAnnotation, get_optimal_chk, save_minian

    intpath = os.path.join(workdir, "minian_intermediate")
    os.environ["MINIAN_INTERMEDIATE"] = intpath
    mem = PeakMemory()
    mem.start()
    t0 = time.perf_counter()
    dask.config.set({"distributed.worker.memory.terminate": False})
    cluster = LocalCluster(n_workers=2, memory_limit="4GB", resources={"MEM": 1}, threads_per_worker=2,
                           dashboard_address=None)
    cluster.scheduler.add_plugin(TaskAnnotation())
    client = Client(cluster)
    rechunk = "1GB"
    movie = np.load(movie_path, mmap_mode="r")
    T, H, W = movie.shape
    varr = xr.DataArray(np.asarray(movie), dims=["frame", "height", "width"],
                        coords=dict(frame=np.arange(T), height=np.arange(H), width=np.arange(W)), name="varr")
    chk, _ = get_optimal_chk(varr, dtype=float)
    varr = save_minian(varr.chunk({"frame": chk["frame"], "height": -1, "width": -1}).rename("varr"), intpath,
                       overwrite=True)
    varr_ref = varr - varr.min("frame").compute()
    varr_ref = denoise(varr_ref, method="median", ksize=7)
    varr_ref = remove_background(varr_ref, method="tophat", wnd=15)
    varr_ref = save_minian(varr_ref.rename("varr_ref"), dpath=intpath, overwrite=True)
    motion = estimate_motion(varr_ref, dim="frame")
    motion = save_minian(motion.rename("motion").chunk({"frame": chk["frame"]}), intpath, overwrite=True)
    Y = apply_transform(varr_ref, motion, fill=0)
    Y_fm_chk = save_minian(Y.astype(np.float32).rename("Y_fm_chk"), intpath, overwrite=True)
    Y_hw_chk = save_minian(Y_fm_chk.rename("Y_hw_chk"), intpath, overwrite=True, mem_limit=rechunk,
                           chunks={"frame": -1, "height": chk["height"], "width": chk["width"]})
    max_proj = save_minian(Y_fm_chk.max("frame").rename("max_proj"), intpath, overwrite=True).compute()
    seeds = seeds_init(Y_fm_chk, wnd_size=1000, method="rolling", stp_size=500, max_wnd=15, diff_thres=3)
    seeds, pnr, gmm = pnr_refine(Y_hw_chk, seeds, noise_freq=0.06, thres=1)
    seeds = ks_refine(Y_hw_chk, seeds, sig=0.05)
    seeds_final = seeds[seeds["mask_ks"] & seeds["mask_pnr"]].reset_index(drop=True)
    seeds_final = seeds_merge(Y_hw_chk, max_proj, seeds_final, thres_dist=10, thres_corr=0.8, noise_freq=0.06,
                              chunk=600)
    A_init = initA(Y_hw_chk, seeds_final[seeds_final["mask_mrg"]], thres_corr=0.8, wnd=10, noise_freq=0.06,
                   chunk=600)
    A_init = save_minian(A_init.rename("A_init"), intpath, overwrite=True)
    C_init = initC(Y_fm_chk, A_init)
    C_init = save_minian(C_init.rename("C_init"), intpath, overwrite=True, mem_limit=rechunk,
                         chunks={"unit_id": 1, "frame": -1})
    A, C = unit_merge(A_init, C_init, thres_corr=0.8, chunk=600)
    A = save_minian(A.rename("A"), intpath, overwrite=True)
    C = save_minian(C.rename("C"), intpath, overwrite=True)
    C_chk = save_minian(C.rename("C_chk"), intpath, overwrite=True, mem_limit=rechunk,
                        chunks={"unit_id": -1, "frame": chk["frame"]})
    b, f = update_background(Y_fm_chk, A, C_chk)
    f = save_minian(f.rename("f"), intpath, overwrite=True)
    b = save_minian(b.rename("b"), intpath, overwrite=True)
    sn_spatial = get_noise_fft(Y_hw_chk, noise_range=(0.06, 0.5))
    sn_spatial = save_minian(sn_spatial.rename("sn_spatial"), intpath, overwrite=True)
    for jac in (0.2, 0.4):
        A_new, mask, norm_fac = update_spatial(Y_hw_chk, A, C, sn_spatial, dl_wnd=10, sparse_penal=0.01,
                                               size_thres=(25, None))
        C_new = save_minian((C.sel(unit_id=mask) * norm_fac).rename("C_new"), intpath, overwrite=True)
        C_chk_new = save_minian((C_chk.sel(unit_id=mask) * norm_fac).rename("C_chk_new"), intpath, overwrite=True)
        b_new, f_new = update_background(Y_fm_chk, A_new, C_chk_new)
        A = save_minian(A_new.rename("A"), intpath, overwrite=True, mem_limit=rechunk,
                        chunks={"unit_id": 1, "height": -1, "width": -1})
        b = save_minian(b_new.rename("b"), intpath, overwrite=True)
        f = save_minian(f_new.chunk({"frame": chk["frame"]}).rename("f"), intpath, overwrite=True)
        C = save_minian(C_new.rename("C"), intpath, overwrite=True)
        C_chk = save_minian(C_chk_new.rename("C_chk"), intpath, overwrite=True)
        YrA = save_minian(compute_trace(Y_fm_chk, A, b, C_chk, f).rename("YrA"), intpath, overwrite=True,
                          mem_limit=rechunk, chunks={"unit_id": 1, "frame": -1})
        C_new, S_new, b0_new, c0_new, g, mask = update_temporal(A, C, YrA=YrA, noise_freq=0.06, sparse_penal=1,
                                                                p=1, add_lag=20, jac_thres=jac)
        C = save_minian(C_new.rename("C").chunk({"unit_id": 1, "frame": -1}), intpath, overwrite=True)
        C_chk = save_minian(C.rename("C_chk"), intpath, overwrite=True, mem_limit=rechunk,
                            chunks={"unit_id": -1, "frame": chk["frame"]})
        S = save_minian(S_new.rename("S").chunk({"unit_id": 1, "frame": -1}), intpath, overwrite=True)
        b0 = save_minian(b0_new.rename("b0").chunk({"unit_id": 1, "frame": -1}), intpath, overwrite=True)
        c0 = save_minian(c0_new.rename("c0").chunk({"unit_id": 1, "frame": -1}), intpath, overwrite=True)
        A = A.sel(unit_id=C.coords["unit_id"].values)
        if jac == 0.2:
            A_mrg, C_mrg, [sig_mrg] = unit_merge(A, C, [C + b0 + c0], thres_corr=0.8, chunk=600)
            A = save_minian(A_mrg.rename("A_mrg"), intpath, overwrite=True)
            C = save_minian(C_mrg.rename("C_mrg"), intpath, overwrite=True)
            C_chk = save_minian(C.rename("C_mrg_chk"), intpath, overwrite=True, mem_limit=rechunk,
                                chunks={"unit_id": -1, "frame": chk["frame"]})
    A_np = A.compute().values.astype(np.float32)
    C_np = C.compute().values.astype(np.float32)
    S_np = S.compute().values.astype(np.float32)
    shifts = motion.compute().values.astype(np.float32)
    elapsed = time.perf_counter() - t0
    mem.running = False
    client.close()
    cluster.close()
    np.savez(out_path, A=A_np, C=C_np, S=S_np, shifts=shifts, seconds=elapsed, peak_bytes=mem.peak)
    print(f"minian: {A_np.shape[0]} units, {elapsed:.0f} s, peak {mem.peak / 2**30:.2f} GB")


if __name__ == "__main__":
    main(*sys.argv[1:4])
