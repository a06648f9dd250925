"""Runs the recipe's stages in order. With no arguments: every stage whose checkpoint under .work/ is missing,
then the export. With stage names (`build.py unet narf`): exactly those stages, in pipeline order.
`build.py from-bundle narf eval export` redoes NARF from the committed models instead of retraining them."""
import importlib
import os
import sys
import time

from common import setup_torch, work_path

# stage -> (module, checkpoint it writes)
STAGES = {
    "from-bundle": ("from_bundle", None),
    "vae": ("train_vae", "vae.pt"),
    "unet": ("train_unet", "unet.pt"),
    "rewards": ("train_rewards", "rewards.pt"),
    "narf": ("narf", "narf.pt"),
    "eval": ("evaluate", "eval.json"),
    "export": ("bundle", None),
}
# run only when named: they stand in for training stages
NAMED_ONLY = {"from-bundle"}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def main(argv) -> None:
    setup_torch()
    unknown = [a for a in argv if a not in STAGES]
    if unknown:
        sys.exit(f"build.py: unknown stage {unknown[0]!r}; stages are {', '.join(STAGES)}")
    t0 = time.time()
    for name, (mod, ck) in STAGES.items():
        if (argv or name in NAMED_ONLY) and name not in argv:
            continue
        if not argv and ck and os.path.exists(work_path(ck)):
            log(f"{name}: cached ({work_path(ck)})")
            continue
        log(f"{name}: start")
        importlib.import_module(mod).train(log=log)
        log(f"{name}: done, {time.time() - t0:.0f}s since start")


if __name__ == "__main__":
    main(sys.argv[1:])
