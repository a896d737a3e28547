"""The ``spec2img`` commands: each turns its parsed arguments into typed options
(:mod:`spec2img.options`) and calls the conversion layer (:mod:`spec2img.convert`).

Heavy modules are imported inside the handlers, so that ``--help`` stays fast.
"""

from __future__ import annotations

import json
import os
import sys
import warnings

from ..errors import InputError, ParameterError, printable
from ..options import PLAIN_FIELDS, AudioOutput, EncodeOptions, PhaseOptions, PlainOptions
from .parser import respell


def _phase_options(args) -> PhaseOptions:
    """The :class:`PhaseOptions` of :func:`_add_phase_retrieval`'s options."""
    return PhaseOptions.of(args.method, args.n_iter, args.seed, args.momentum,
                           stop_db=getattr(args, "stop_db", None))  # fmt: skip


def _audio_output(args) -> AudioOutput:
    return AudioOutput(
        subtype=args.subtype, normalize=args.normalize, format=getattr(args, "format", None),
        compression_level=getattr(args, "compression_level", None),
        bitrate_mode=getattr(args, "bitrate_mode", None),
    )  # fmt: skip


def _plain_options(args, skip=()) -> PlainOptions:
    """The plain-image options given on the command line (less those in ``skip``)."""
    names = [k for k in PLAIN_FIELDS if k not in skip]
    given = {k: getattr(args, k) for k in names if getattr(args, k, None) is not None}
    if "crop" in given:
        given["crop"] = _crop(given["crop"])
    return PlainOptions(**given)


def _crop(text: str) -> tuple[float, float, float, float]:
    parts = text.replace(" ", "").split(",")
    try:
        box = tuple(float(v) for v in parts)
    except ValueError:
        box = ()
    if len(box) != 4 or not all(v == v and abs(v) != float("inf") for v in box):
        raise ParameterError(f"--crop must be four numbers L,T,R,B, not {text!r}")
    return box


def _say(msg: str, args=None) -> None:
    # Status lines go to stderr so that stdout stays clean for data (info --json).
    if args is None or not getattr(args, "quiet", False):
        print(msg, file=sys.stderr)


def _cmd_encode(args) -> int:
    from .. import convert
    from ..io.atomic import spool_input

    options = EncodeOptions(
        n_fft=args.n_fft, hop_length=args.hop_length, win_length=args.win_length,
        window=args.window, scale=args.scale, n_mels=args.n_mels, fmin=args.fmin,
        fmax=args.fmax, top_db=args.top_db,
        db_range=None if args.db_range is None else tuple(args.db_range),
        sr=args.sr, mono=args.mono, size=args.size, keep_phase=args.keep_phase,
        segment=args.segment, overlap=args.overlap or 0.0, workers=args.workers,
    )  # fmt: skip
    if args.output_dir is not None:
        return _run_batch(args, convert.EncodeTask(options), ".png",
                          segmented=args.segment is not None)  # fmt: skip
    src, dst = args.inputs
    with spool_input(src, "audio") as path:
        result = convert.encode_file(path, dst, options, overwrite=args.overwrite)
    _say(result.message, args)
    return 0


def _cmd_decode(args) -> int:
    from .. import convert
    from ..io.atomic import display_name, spool_input
    from .progress import ProgressBar

    kept = False if args.no_phase else (args.phase or True)
    task = convert.DecodeTask(
        phase=_phase_options(args), output=_audio_output(args), plain=_plain_options(args),
        kept_phase=kept, max_pixels=args.max_pixels, workers=args.workers,
    )  # fmt: skip
    if args.output_dir is not None:
        return _run_batch(args, task, f".{args.format or 'wav'}")
    src, dst = args.inputs
    name = os.path.basename(display_name(src, output=False))
    with ProgressBar(f"decoding {name}", enabled=None if not args.quiet else False) as bar:
        with spool_input(src, "an image") as path:
            result = convert.decode_file(
                path, dst, phase=task.phase, output=task.output, plain=task.plain,
                kept_phase=kept, max_pixels=args.max_pixels, workers=args.workers,
                progress=bar, overwrite=args.overwrite,
            )  # fmt: skip
    _say(result.message, args)
    return 0


def _run_batch(args, task, suffix: str, *, segmented: bool = False) -> int:
    from ..batch.folders import BatchSettings, run
    from .progress import ProgressBar

    settings = BatchSettings(
        output_dir=args.output_dir, kind=args.command, suffix=suffix, jobs=args.jobs,
        scheduler=args.scheduler, overwrite=args.overwrite, fail_fast=args.fail_fast,
        manifest=args.manifest, dataset_size=getattr(args, "size", None), quiet=args.quiet,
    )  # fmt: skip
    bar = ProgressBar(args.command, enabled=None if not args.quiet else False, unit="files")
    return run(task, args.inputs, settings, bar=bar, spell=respell, segmented=segmented)


def _cmd_join(args) -> int:
    from .. import convert
    from ..batch.folders import SEGMENT_EXTS, expand
    from .progress import ProgressBar

    *inputs, dst = args.paths
    srcs, problems = expand(inputs, SEGMENT_EXTS)
    if problems:
        raise InputError(problems[0][1])
    with ProgressBar(f"joining {len(srcs)} segment(s)",
                     enabled=None if not args.quiet else False) as bar:  # fmt: skip
        result = convert.join_files(
            srcs, dst, phase=_phase_options(args), output=_audio_output(args),
            max_pixels=args.max_pixels, workers=args.workers, progress=bar,
            overwrite=args.overwrite,
        )  # fmt: skip
    _say(result.message, args)
    return 0


def _cmd_show(args) -> int:
    from .preview import show

    plain = _plain_options(args, skip=("cmap",))  # show's --cmap is the preview's
    out = show(args.input, args.output, dpi=args.dpi, cmap=args.cmap, plain=plain,
               overwrite=args.overwrite)  # fmt: skip
    if out is not None:
        _say(f"wrote {out}", args)
    return 0


def _cmd_info(args) -> int:
    from ..io.atomic import spool_input
    from ..pipeline import read_image
    from ..wild.identify import identify

    plain = _plain_options(args)
    with spool_input(args.image, "an image") as path:
        identity = identify(path, plain, max_pixels=args.max_pixels)
        if identity.kind == "plain":
            return _info_plain(args, identity)
        meta = read_image(identity, max_pixels=args.max_pixels, phase=False).meta
        source = identity.source
    d = meta.to_dict()
    if args.json:
        print(json.dumps(d))
        return 0
    width = max(len(k) for k in d)
    for k, v in d.items():
        print(f"{printable(k):<{width}}  {printable(str(v))}")
    found = {
        "text chunks": "spec2img text chunks",
        "params-from": f"--params-from {args.params_from}",
    }
    print(f"{'found in':<{width}}  {printable(found.get(source, source))}")
    h, w = meta.shape
    print(f"{'image':<{width}}  {w}x{h} pixels")
    print(f"{'duration':<{width}}  {meta.n_samples / meta.params.sample_rate:.3f} s")
    return 0


def _info_plain(args, identity) -> int:
    """info on a plain image (or one read as plain): the settings it decodes with."""
    from ..errors import in_file
    from ..wild import presets

    path = identity.path
    try:
        res = presets.resolve(path, identity.options, header=identity.need_header())
        spec = presets.plain_spec_of(path, res)
    except ParameterError as e:
        raise in_file(args.image, e) from None
    rows = presets.describe(res, spec)
    if args.json:
        print(json.dumps({k: {"value": v, "from": src} for k, v, src in rows}))
        return 0
    width = max(len(k) for k, _, _ in rows)
    vwidth = max(len(v) for _, v, _ in rows)
    for k, v, src in rows:
        print(f"{k:<{width}}  {printable(v):<{vwidth}}  ({src})")
    for note in res.notes:
        print(f"{'':<{width}}  {printable(note)}")
    return 0


def _cmd_decompose(args) -> int:
    from .. import convert

    result = convert.decompose_file(
        args.image, args.outdir, components=args.components, seed=args.seed,
        beta_loss=args.beta_loss, max_iter=args.max_iter, workers=args.workers,
        overwrite=args.overwrite,
    )  # fmt: skip
    _say(result.message, args)
    return 0


def _cmd_recompose(args) -> int:
    from .. import convert

    result = convert.recompose_files(
        args.components, args.activations, args.output, top_db=args.top_db,
        phase=_phase_options(args), output=_audio_output(args), workers=args.workers,
        overwrite=args.overwrite,
    )  # fmt: skip
    _say(result.message, args)
    return 0


def _cmd_mosaic(args) -> int:
    from .. import convert
    from .progress import ProgressBar

    with ProgressBar(f"mosaicing {os.path.basename(args.target)}",
                     enabled=None if not args.quiet else False) as bar:  # fmt: skip
        result = convert.mosaic_files(
            args.source, args.target, args.output, output=_audio_output(args),
            n_fft=args.n_fft, hop_length=args.hop_length, n_iter=args.n_iter,
            sparse=args.sparse, phase=args.phase, seed=args.seed, workers=args.workers,
            progress=bar, overwrite=args.overwrite,
        )  # fmt: skip
    _say(result.message, args)
    return 0


def _cmd_edit(args) -> int:
    from pathlib import Path

    from ..batch.folders import IMAGE_EXTS
    from ..edit.server import is_loopback, serve
    from ..edit.session import check_output_path, open_audio, open_input, open_new

    if args.port > 65535:
        raise ParameterError(f"--port must be 0 to 65535, not {args.port}")
    if not is_loopback(args.host):
        warnings.warn(
            f"--host {args.host} is not a loopback address: anyone who can reach it and "
            "has the token can read and edit this recording",
            stacklevel=1,
        )
    out = None if args.output is None else check_output_path(args.output, args.input)
    image_input = args.new is None and Path(args.input).suffix.lower() in IMAGE_EXTS
    if image_input:
        if args.scale is not None or args.channels != 1:
            raise ParameterError("--scale and --channels apply to audio input and --new only")
        session = open_input(args.input, plain=_plain_options(args), max_pixels=args.max_pixels)
    else:
        encode = _edit_encode_options(args)
        if args.new is not None:
            session = open_new(args.new, sr=encode.sr or 44100, channels=args.channels,
                               encode=encode, name=Path(args.output).name)  # fmt: skip
        else:  # shown at once in a coarse view; the full encode runs in the background
            if not args.quiet and sys.stderr.isatty():
                _say(f"opening {printable(args.input)} ...")
            session = open_audio(args.input, encode=encode, max_pixels=args.max_pixels)
    return serve(
        session, host=args.host, port=args.port, output=out,
        open_browser=not args.no_browser, announce=lambda url: print(url, flush=True),
    )  # fmt: skip


#: Plain-image options that mean something for audio too: the encoder's resolution.
_EDIT_ENCODE_FIELDS = ("sr", "n_fft", "hop_length", "win_length", "window", "n_mels", "fmin",
                       "fmax", "top_db", "db_range")  # fmt: skip


def _edit_encode_options(args) -> EncodeOptions:
    """``edit``'s options for audio (and --new) as encoder options; image-only ones are
    refused, naming them."""
    plain = _plain_options(args)
    extra = [k for k in PLAIN_FIELDS if k not in _EDIT_ENCODE_FIELDS + ("y_axis",)
             and getattr(plain, k) is not None]  # fmt: skip
    if extra:
        names = ", ".join("--" + k.replace("_", "-") for k in extra)
        raise ParameterError(f"{names} apply to image input only")
    given = {k: getattr(plain, k) for k in _EDIT_ENCODE_FIELDS if getattr(plain, k) is not None}
    scale = args.scale or ("mel" if plain.y_axis == "mel" else "linear")
    return EncodeOptions(scale=scale, **given)


#: Each command's handler, by name (the parser's :data:`~spec2img.cli.parser.COMMANDS`).
HANDLERS = {
    "encode": _cmd_encode, "decode": _cmd_decode, "join": _cmd_join, "info": _cmd_info,
    "show": _cmd_show, "decompose": _cmd_decompose, "recompose": _cmd_recompose,
    "mosaic": _cmd_mosaic, "edit": _cmd_edit,
}  # fmt: skip
