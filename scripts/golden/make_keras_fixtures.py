"""Golden files written by real Keras, for lesionlab's Keras-weights loader (dev time only).

Nothing here runs in the product or in `npm test`: this script *writes* fixtures that the TypeScript
tests and `npm run bench:keras-parity` read. Requirements (PyPI): tensorflow-cpu and tf-keras 2.21
(Keras 2 HDF5 layout, as the official keras.applications `*_notop.h5` files), keras 3 for the
`.weights.h5` fixture.

    python scripts/golden/make_keras_fixtures.py tiny  --out test/golden/keras
    python scripts/golden/make_keras_fixtures.py full  --out .cache/keras-parity [--only densenet121]
    python scripts/golden/make_keras_fixtures.py full  --out .cache/keras-parity --only mobilenet_v2 \
        --weights ../shared/weights/mobilenet_v2_1.0_224/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5

`tiny`: one small functional model with every layer type the registry's backbones use, saved the ways
Keras saves weights (save_weights .h5, full model.save .h5, weight names rewritten as str, Keras 3
.weights.h5), plus a fixed input and Keras's output (tiny.json). A few hundred KB in all.

`full`: for every registry backbone, keras.applications.<Model>(weights=None, include_top=False) with
seeded random weights, BatchNormalization statistics calibrated on the fixed input and then randomised,
random LayerNormalization parameters and ConvNeXt layer-scale gammas (so a swapped or mis-ordered
tensor changes the output), saved with save_weights; the fixed raw 0..255 input, Keras's
preprocess_input, and Keras's output feature map as float32 .bin files with a JSON description. With
`--weights FILE` a real weights file (e.g. the ImageNet MobileNetV2 in ../shared) is loaded by Keras instead
and only Keras's output is written (`<name>_given.*`).
"""

import argparse
import hashlib
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402

SEED = 20261201

# name -> (tf_keras.applications constructor, its module's preprocess_input, input side)
FULL_BACKBONES = {
    "inception_resnet_v2": ("InceptionResNetV2", "inception_resnet_v2", 299),
    "densenet121": ("DenseNet121", "densenet", 224),
    "convnext_small": ("ConvNeXtSmall", "convnext", 224),
    "mobilenet_v1": ("MobileNet", "mobilenet", 224),
    "mobilenet_v2": ("MobileNetV2", "mobilenet_v2", 224),
}


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_f32(path, array):
    np.ascontiguousarray(array, dtype="<f4").tofile(path)


def fixed_input(side, count, seed):
    """Raw RGB in 0..255 with some structure (smooth gradients + noise), NHWC float32."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:side, 0:side] / side
    images = []
    for i in range(count):
        base = np.stack(
            [128 + 100 * np.sin(6 * xx + i), 128 + 100 * np.cos(5 * yy - i), 255 * xx * yy], axis=-1
        )
        images.append(np.clip(base + rng.normal(0, 20, base.shape), 0, 255))
    return np.stack(images).astype("float32")


def calibrate_batch_norm(bn, act, rng):
    axes = tuple(range(act.ndim - 1))
    c = act.shape[-1]
    # A floor at the mean channel variance: a channel whose input nearly cancels out is not blown up
    # to unit scale, which would make the random network chaotic (float rounding amplified layer by layer,
    # so no two runtimes could agree; seen with MobileNet v1 before the floor).
    var = act.var(axis=axes)
    values = {
        "gamma": rng.uniform(0.5, 1.5, c),
        "beta": rng.normal(0, 0.2, c),
        "moving_mean": act.mean(axis=axes) * rng.uniform(0.8, 1.2, c),
        "moving_variance": var * rng.uniform(0.7, 1.3, c) + var.mean() + 1e-3,
    }
    bn.set_weights([values[w.name.split("/")[-1].split(":")[0]].astype("float32") for w in bn.weights])


def randomise_weights(model, x, rng, keras):
    """Seeded random kernels; BN statistics calibrated on x then jittered; random LN and layer-scale."""
    layers = keras.layers
    for layer in model.layers:
        new = []
        for w in layer.weights:
            value = w.numpy()
            name = w.name.split("/")[-1].split(":")[0]
            if name in ("kernel", "depthwise_kernel"):
                fan_in = np.prod(value.shape[:-1]) if name == "kernel" else np.prod(value.shape[:2])
                value = rng.normal(0, np.sqrt(2.0 / fan_in), value.shape)
            elif name == "bias":
                value = rng.normal(0, 0.05, value.shape)
            new.append(value)
        if new:
            layer.set_weights([np.asarray(v, dtype="float32") for v in new])
    # BatchNormalization: moving statistics from the layer's real input on x (jittered), so activations
    # stay in range through deep networks; gamma/beta random so every tensor matters. Calibrated in
    # chunks of layers, in order, so each chunk sees the already calibrated layers before it.
    bns = [l for l in model.layers if isinstance(l, layers.BatchNormalization)]
    for start in range(0, len(bns), 16):
        chunk = bns[start : start + 16]
        probe = keras.Model(model.inputs, [l.input for l in chunk])
        acts = probe.predict(x, verbose=0)
        for bn, act in zip(chunk, acts if len(chunk) > 1 else [acts]):
            calibrate_batch_norm(bn, act, rng)
    for layer in model.layers:
        if isinstance(layer, layers.LayerNormalization):
            c = layer.weights[0].shape[0]
            layer.set_weights([rng.uniform(0.5, 1.5, c).astype("float32"), rng.normal(0, 0.2, c).astype("float32")])
        elif type(layer).__name__ == "LayerScale":
            c = layer.weights[0].shape[0]
            layer.set_weights([rng.uniform(0.05, 0.5, c).astype("float32")])


def make_full(name, out_dir, keras, weights=None):
    """Random (seeded) weights saved by Keras, or with `weights` a real file loaded by Keras itself."""
    ctor_name, module_name, side = FULL_BACKBONES[name]
    apps = keras.applications
    module = getattr(apps, module_name)
    model = getattr(apps, ctor_name)(weights=None, include_top=False, input_shape=(side, side, 3))
    raw = fixed_input(side, 2, SEED)
    x = module.preprocess_input(raw.copy())
    stem = name if weights is None else f"{name}_given"
    if weights is None:
        randomise_weights(model, x, np.random.default_rng(SEED), keras)
        weights_path = os.path.join(out_dir, f"{stem}.h5")
        model.save_weights(weights_path)
    else:
        model.load_weights(weights)
        weights_path = os.path.abspath(weights)
    y = model.predict(x, verbose=0)
    write_f32(os.path.join(out_dir, f"{stem}.input.bin"), raw)
    write_f32(os.path.join(out_dir, f"{stem}.output.bin"), y)
    meta = {
        "backbone": name,
        "keras": f"tf_keras {keras.__version__}",
        "constructor": f"keras.applications.{ctor_name}(weights=None, include_top=False, input_shape=({side}, {side}, 3))",
        "preprocess": f"keras.applications.{module_name}.preprocess_input",
        "seed": SEED,
        "weights": os.path.relpath(weights_path, out_dir),
        "weights_sha256": sha256(weights_path),
        "params": int(model.count_params()),
        "input_shape": list(raw.shape),
        "output_shape": list(y.shape),
        "output_abs_max": float(np.abs(y).max()),
    }
    with open(os.path.join(out_dir, f"{stem}.json"), "w") as f:
        json.dump(meta, f, indent=2)
    print(f"{stem}: {meta['params']:,} params, output {y.shape}, |y|max {meta['output_abs_max']:.4g}")


def tiny_model(keras):
    """A small network with every layer type the registry's backbones use, named like Keras names them."""
    from tf_keras.src.applications.convnext import LayerScale

    L = keras.layers
    inp = L.Input((16, 16, 3), name="input_1")
    # A nested model, as ConvNeXt's stem: one group in the file holding its inner layers' weights.
    stem = keras.Sequential(
        [L.Conv2D(4, 1, name="stem_conv"), L.LayerNormalization(epsilon=1e-6, name="stem_ln")], name="stem"
    )
    x = stem(inp)
    x = L.ZeroPadding2D(((0, 1), (0, 1)), name="pad")(x)
    x = L.Conv2D(8, 3, strides=2, use_bias=False, name="conv1")(x)
    x = L.BatchNormalization(epsilon=1e-3, name="bn1")(x)
    x = L.ReLU(6.0, name="relu1")(x)
    y = L.DepthwiseConv2D(3, padding="same", use_bias=False, name="dw")(x)
    y = L.BatchNormalization(epsilon=1.001e-5, name="dw_bn")(y)
    y = L.Activation("relu", name="dw_relu")(y)
    x = L.Add(name="add")([x, y])
    a = L.MaxPooling2D(3, strides=1, padding="same", name="maxpool")(x)
    b = L.AveragePooling2D(3, strides=1, padding="same", name="avgpool")(x)
    x = L.Concatenate(name="concat")([a, b])
    x = L.Conv2D(16, 1, name="proj")(x)
    s = L.Conv2D(16, 1, name="res_up")(x)
    x = L.Lambda(lambda t: t[0] + t[1] * 0.17, output_shape=(8, 8, 16), name="scaled")([x, s])
    x = L.Activation("relu", name="scaled_ac")(x)
    g = L.Conv2D(16, 7, padding="same", groups=16, name="grouped")(x)
    g = L.LayerNormalization(epsilon=1e-6, name="ln")(g)
    g = L.Dense(32, name="pw1")(g)
    g = L.Activation("gelu", name="gelu")(g)
    g = L.Dense(16, name="pw2")(g)
    g = LayerScale(1e-6, 16, name="layer_scale")(g)
    x = L.Add(name="add2")([x, g])
    return keras.Model(inp, x, name="tiny")


def as_text(name):
    return name.decode() if isinstance(name, bytes) else str(name)


def rewrite_names_as_bytes(src, dst):
    """The same weights with layer_names/weight_names as fixed-length byte strings (numpy 'S'), the way
    the official keras.applications files (written by older Keras 2) store them; tf-keras 2.21 writes str."""
    import h5py

    with h5py.File(src, "r") as fin, h5py.File(dst, "w") as fout:
        for key, value in fin.attrs.items():
            fout.attrs[key] = value
        layer_names = [as_text(n) for n in fin.attrs["layer_names"]]
        fout.attrs["layer_names"] = np.array([n.encode() for n in layer_names])
        for layer in layer_names:
            fin.copy(fin[layer], fout, name=layer)
            names = [as_text(n) for n in fin[layer].attrs["weight_names"]]
            fout[layer].attrs["weight_names"] = np.array([n.encode() for n in names]) if names else np.array([])


def make_tiny(out_dir, keras):
    model = tiny_model(keras)
    rng = np.random.default_rng(SEED)
    raw = fixed_input(16, 2, SEED)
    x = raw / 127.5 - 1.0
    randomise_weights(model, x, rng, keras)
    y = model.predict(x, verbose=0)
    model.save_weights(os.path.join(out_dir, "tiny.weights-keras2.h5"))
    model.save(os.path.join(out_dir, "tiny.model-keras2.h5"))
    rewrite_names_as_bytes(os.path.join(out_dir, "tiny.weights-keras2.h5"), os.path.join(out_dir, "tiny.bytenames-keras2.h5"))
    make_keras3_weights(out_dir)
    meta = {
        "keras": f"tf_keras {keras.__version__}",
        "seed": SEED,
        "input": "x / 127.5 - 1 of input (NHWC), fed to the model as is",
        "input_shape": list(x.shape),
        "output_shape": list(y.shape),
        "input_values": [round(float(v), 7) for v in x.astype("float32").ravel()],
        "output_values": [float(v) for v in y.astype("float32").ravel()],
        "files": {
            "tiny.weights-keras2.h5": "model.save_weights (Keras 2 HDF5: layer_names, weight_names as str, empty float64 arrays for layers without weights)",
            "tiny.model-keras2.h5": "model.save (weights under model_weights)",
            "tiny.bytenames-keras2.h5": "tiny.weights-keras2.h5 with names as fixed-length bytes, like the official files",
            "tiny.keras3.weights.h5": "Keras 3 save_weights (different layout; lesionlab names the format)",
        },
    }
    with open(os.path.join(out_dir, "tiny.json"), "w") as f:
        json.dump(meta, f)
    print(f"tiny: output {y.shape}, |y|max {np.abs(y).max():.4g}; files in {out_dir}")


def make_keras3_weights(out_dir):
    """A Keras 3 `.weights.h5` of a two-layer model, written by Keras 3 itself (in a subprocess)."""
    import subprocess

    code = (
        "import os; os.environ['TF_CPP_MIN_LOG_LEVEL']='2'; import keras;"
        "m = keras.Sequential([keras.Input((4, 4, 3)), keras.layers.Conv2D(2, 1, name='conv'),"
        " keras.layers.BatchNormalization(name='bn')]);"
        f"m.save_weights({os.path.join(out_dir, 'tiny.keras3.weights.h5')!r})"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "TF_USE_LEGACY_KERAS": "0"})


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["tiny", "full"])
    parser.add_argument("--out", required=True)
    parser.add_argument("--only", action="append", choices=sorted(FULL_BACKBONES))
    parser.add_argument("--weights", help="full: a real weights file for the one --only backbone (output <name>_given.*)")
    args = parser.parse_args()
    import tf_keras as keras

    os.makedirs(args.out, exist_ok=True)
    np.random.seed(SEED)
    keras.utils.set_random_seed(SEED)
    if args.what == "tiny":
        make_tiny(args.out, keras)
    else:
        if args.weights and len(args.only or []) != 1:
            parser.error("--weights needs exactly one --only backbone")
        for name in args.only or list(FULL_BACKBONES):
            make_full(name, args.out, keras, args.weights)


if __name__ == "__main__":
    main()
