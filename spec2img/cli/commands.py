"""The ``spec2img`` commands: each turns its parsed arguments into typed options
(:mod:`spec2img.options`) and calls the conversion layer (:mod:`spec2img.convert`).

Heavy modules are imported inside the handlers, so that ``--help`` stays fast.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from pathlib import Path

from ..errors import InputError, OutputError, ParameterError, Spec2ImgError, printable
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
        res = presets.resolve(path, identity.options, header=identity.need_header(),
                              figure=identity.figure, detected=identity.detected)  # fmt: skip
        spec = presets.plain_spec_of(path, res)
        spec = presets.settle_range(path, res, spec)  # a range the picture does not print
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
    if any(src not in ("option", "default") for src in res.sources.values()):
        line = presets.override_line(args.image, res, spec)
        print(f"{'override':<{width}}  {printable(line)}")
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
    from ..edit import journal
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
    out = None
    if args.output is not None:
        out = check_output_path(args.output, args.input, overwrite=args.overwrite)
    image_input = args.new is None and Path(args.input).suffix.lower() in IMAGE_EXTS
    if image_input:
        if args.scale is not None or args.channels != 1:
            raise ParameterError("--scale and --channels apply to audio input and --new only")
        if not args.quiet and sys.stderr.isatty():
            _say(f"opening {printable(args.input)} ...")
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
    if args.new is not None:  # journaled against its output and how it was made
        command = _new_canvas_command(args)
        canvas = {"seconds": args.new, "sr": encode.sr or 44100, "channels": args.channels,
                  "grid": journal.grid_doc(session),
                  "db": [session.meta.db_min, session.meta.db_max]}  # fmt: skip
        subject = journal.Subject.of_canvas(args.output, canvas, command)
        what = f"the new canvas {printable(args.output)}"
    else:
        subject = journal.Subject.of_file(args.input)
        what = printable(args.input)
    recovery = journal.find_recovery(subject)
    if recovery is not None and args.fresh:
        aside = journal.set_aside(recovery.path)
        _say(f"set aside the previous session's {len(recovery.edits)} unsaved edit(s): {aside}")
        recovery = None
    elif recovery is not None and not args.resume:
        _say(f"a previous session of {what} left {len(recovery.edits)} unsaved "
             "edit(s): the page offers them back (or start with --resume / --fresh)")  # fmt: skip
    elif recovery is None and args.resume:
        _say(f"--resume: no unsaved edits of {what} to restore; starting unedited")
    warned = lambda m: _say(f"spec2img: warning: {printable(m)}")  # noqa: E731
    keeper = journal.Keeper(session, subject, recovery=recovery, warn=warned)
    if keeper.others:
        _say(f"spec2img: {what} is also open in another editor ({keeper.others[0]}); "
             f"this one keeps its own journal: {keeper.journal.path}")  # fmt: skip
    return serve(
        session, host=args.host, port=args.port, output=out,
        open_browser=not args.no_browser, announce=lambda url: print(url, flush=True),
        keeper=keeper, allow_hosts=args.allow_host, resume=args.resume,
        exit_at_end=True, say=lambda m: _say(f"spec2img: {m}"),
    )  # fmt: skip


#: Plain-image options that mean something for audio too: the encoder's resolution.
_EDIT_ENCODE_FIELDS = ("sr", "n_fft", "hop_length", "win_length", "window", "n_mels", "fmin",
                       "fmax", "top_db", "db_range")  # fmt: skip


def _new_canvas_command(args) -> str:
    """The command line that makes the same ``--new`` canvas again (the journal is keyed
    on how the canvas was made, so ``--resume`` needs every option that shaped it)."""
    import shlex

    parts = ["spec2img", "edit", "--new", f"{args.new:g}", "-o", str(args.output)]
    for k in (*_EDIT_ENCODE_FIELDS, "y_axis", "scale"):
        v = getattr(args, k, None)
        if v is not None:
            parts += [
                "--" + k.replace("_", "-"),
                *map(str, v if isinstance(v, (list, tuple)) else [v]),
            ]
    if args.channels != 1:
        parts += ["--channels", str(args.channels)]
    return shlex.join(parts)


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


def _apply_pairs(args) -> list[tuple[str, Path]]:
    """(input, output) of each job: one file to OUTPUT, or many into the OUTDIR."""
    from ..io.audio import FORMATS

    many = len(args.inputs) > 1 or os.path.isdir(args.inputs[0])
    if not many:
        return [(args.inputs[0], Path(args.output))]
    out = Path(args.output)
    if not out.is_dir():
        raise OutputError(f"{out}: several inputs need an existing folder as -o OUTDIR")
    found = []
    for src in args.inputs:
        if os.path.isdir(src):
            found += sorted(str(p) for p in Path(src).iterdir() if p.is_file() and
                            (p.suffix.lower() in FORMATS or p.suffix.lower() == ".png")
                            and not p.name.endswith(".phase.png"))  # fmt: skip
        else:
            found.append(src)
    pairs = [(src, out / f"{Path(src).stem}.{args.format}") for src in found]
    names = [p[1] for p in pairs]
    if len(set(names)) != len(names):
        raise OutputError(f"{out}: two inputs have the same name; apply them separately")
    return pairs


def _cmd_apply(args) -> int:
    from concurrent.futures import ThreadPoolExecutor

    from ..edit.apply import apply_edits
    from ..edit.journal import read_document

    doc = read_document(args.edits)
    pairs = _apply_pairs(args)
    plain = _plain_options(args)

    def one(pair):
        src, dst = pair
        try:
            apply_edits(doc, src, dst, name=args.edits, overwrite=args.overwrite,
                        plain=plain, max_pixels=args.max_pixels)  # fmt: skip
        except Spec2ImgError as e:
            return e
        _say(f"{printable(str(src))} -> {printable(str(dst))}", args)
        return None

    if len(pairs) == 1:
        err = one(pairs[0])
        if err is not None:
            raise err
        return 0
    with ThreadPoolExecutor(max_workers=min(args.jobs, len(pairs))) as pool:
        errors = [e for e in pool.map(one, pairs) if e is not None]
    for e in errors:
        print(f"spec2img: error: {printable(str(e))}", file=sys.stderr)
    if errors:
        print(f"spec2img: {len(errors)} of {len(pairs)} input(s) failed", file=sys.stderr)
        return 1
    return 0


#: Each command's handler, by name (the parser's :data:`~spec2img.cli.parser.COMMANDS`).
HANDLERS = {
    "encode": _cmd_encode, "decode": _cmd_decode, "join": _cmd_join, "info": _cmd_info,
    "show": _cmd_show, "decompose": _cmd_decompose, "recompose": _cmd_recompose,
    "mosaic": _cmd_mosaic, "edit": _cmd_edit, "apply": _cmd_apply,
}  # fmt: skip
