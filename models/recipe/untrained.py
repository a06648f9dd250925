"""Random-weight bundle with the exact layout, for developing the pipeline before training finishes."""
import sys

import export
import tokenizer
from common import NARF_EXPORT, seed_all, setup_torch
from nets import AlignReward, QualityReward, ScaledDecoder, TextEncoder, UNet, VAEDecoder

if __name__ == "__main__":
    setup_torch()
    seed_all(0)
    out = sys.argv[1] if len(sys.argv) > 1 else export.BUNDLE
    v = len(tokenizer.VOCAB)
    export.export_core(TextEncoder(v), UNet(), ScaledDecoder(VAEDecoder(), 1.0), out)
    align, quality = AlignReward(v), QualityReward()
    export.export_align(align, f"{out}/rewards/align/model.onnx")
    export.export_quality(quality, f"{out}/rewards/quality/model.onnx")
    for s in NARF_EXPORT:
        export.export_align(align, f"{out}/rewards/align/step_{s:02d}.onnx")
        export.export_quality(quality, f"{out}/rewards/quality/step_{s:02d}.onnx")
    export.write_configs({"align": NARF_EXPORT, "quality": NARF_EXPORT}, out, {"untrained": True})
    print("wrote untrained bundle to", out)
