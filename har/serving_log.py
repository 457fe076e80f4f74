"""Serving log: what the HTTP service received and predicted, for monitoring on production traffic.

Opt-in (`ServingLogSettings.enabled`, off by default): raw sensor windows are
personal data. `ServingLogWriter.record` is O(1) on the request path (a
sampling decision and an append to a bounded in-memory queue; when the queue
is full the record is dropped and counted, never waited for). A daemon thread
batches records into segment files written atomically (temporary name in the
same folder, then `os.replace`; no fsync, see `_write_segment`) as pickle-free `.npz`, and enforces the size
and age limits after each write. `read_serving_log` reads a folder back for a
time range; the drift pipeline turns that into a `WindowedDataset`.

Segment files are named `seg-<UTC yyyymmddThhmmss.ffffff>-<pid>-<seq>.npz`
(the time of their first record), so they sort by time. Arrays per window:
`received_at` (float64 epoch s), `stream_id` (str), `window_start_ms`
(float64, NaN when the request carried no time), `probabilities` (float32, n x
classes), `windows` (float32, n x samples x channels, canonical units before
normalisation; empty when `include_windows` is false), `model_version` (str),
`endpoint` (str); per segment: `class_names`, `channel_names`, `model_name`,
`format_version`.
"""

from __future__ import annotations

import logging
import os
import random
import re
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Callable, Deque, Dict, List, Mapping, Sequence, Tuple

import numpy as np

from har.outcomes import BadInput

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
SEGMENT_PREFIX = "seg-"
SEGMENT_SUFFIX = ".npz"
TEMP_PREFIX = ".tmp-"
_SEGMENT_NAME = re.compile(r"^seg-(\d{8}T\d{6}\.\d{6})-(\d+)-(\d+)\.npz$")
_STALE_TEMP_SECONDS = 600.0  # a temporary file this old belongs to a writer that died mid-write
ENABLE_HINT = ("turn the log on: steps.package_model.parameters.serving_log.enabled: true in configs/deploy.yaml, "
               "redeploy, and send traffic")


@dataclass(frozen=True)
class ServingLogSettings:
    """How the service logs its traffic (`steps.package_model.parameters.serving_log` in configs/deploy.yaml).

    Attributes:
        enabled: Log at all (off by default: raw sensor windows are personal data).
        dir: Absolute folder of the segment files; None: `default_log_dir(model_name)`.
        sample_rate: Share of requests logged (0 < r <= 1); a sampled request is logged whole.
        include_windows: Log the raw windows (personal data; needed for feature drift). False: only
            predictions and probabilities (the label-free monitors still work).
        max_bytes: Total size of the segment files; the oldest are deleted beyond it.
        retention_days: Segment files older than this are deleted.
        flush_seconds: A segment is written at the latest this long after its first record.
        segment_records: Windows per segment file (a full segment is written at once).
    """

    enabled: bool = False
    dir: str | None = None
    sample_rate: float = 1.0
    include_windows: bool = True
    max_bytes: int = 256 * 1024 * 1024
    retention_days: float = 7.0
    flush_seconds: float = 2.0
    segment_records: int = 4096

    def __post_init__(self) -> None:
        def bad(name: str, expected: str) -> ValueError:
            return ValueError(f"serving_log.{name} must be {expected}, got {getattr(self, name)!r}")

        for name in ("enabled", "include_windows"):
            if not isinstance(getattr(self, name), bool):
                raise bad(name, "true or false")
        if self.dir is not None and (not isinstance(self.dir, str) or not os.path.isabs(self.dir)):
            raise bad("dir", "an absolute path or null (the default folder in the ZenML store)")
        if not _number(self.sample_rate) or not 0.0 < float(self.sample_rate) <= 1.0:
            raise bad("sample_rate", "a number with 0 < sample_rate <= 1")
        if isinstance(self.max_bytes, bool) or not isinstance(self.max_bytes, int) or self.max_bytes < 1024 * 1024:
            raise bad("max_bytes", "an integer of at least 1048576 (1 MiB)")
        if not _number(self.retention_days) or not float(self.retention_days) > 0:
            raise bad("retention_days", "a positive number of days")
        if not _number(self.flush_seconds) or not 0.01 <= float(self.flush_seconds) <= 3600:
            raise bad("flush_seconds", "a number of seconds between 0.01 and 3600")
        if isinstance(self.segment_records, bool) or not isinstance(self.segment_records, int) \
                or not 1 <= self.segment_records <= 1_000_000:
            raise bad("segment_records", "an integer between 1 and 1000000")

    @classmethod
    def from_dict(cls, content: Mapping[str, Any] | None) -> ServingLogSettings:
        """From the deploy config's dict (None or {}: the defaults, i.e. off); unknown keys are an error."""
        if content is None:
            return cls()
        if not isinstance(content, Mapping):
            raise ValueError(f"serving_log must be a mapping of settings, got {type(content).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(content) - known)
        if unknown:
            raise ValueError(f"serving_log: unknown setting(s) {unknown}; known: {sorted(known)}")
        return cls(**dict(content))

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value)


def default_log_dir(model_name: str) -> Path:
    """`<ZenML local stores path>/serving_log/<model_name>`: per ZenML home, so isolated stores stay isolated."""
    from zenml.config.global_config import GlobalConfiguration

    return Path(GlobalConfiguration().local_stores_path) / "serving_log" / model_name


def resolve_log_dir(settings: ServingLogSettings, model_name: str) -> Path:
    return Path(settings.dir) if settings.dir else default_log_dir(model_name)


class _Segment:
    """One segment being filled on the request path: preallocated arrays that a record is copied into.

    The request path only copies (a few numpy slice assignments and two list appends, ~2 us); the writer's
    thread then writes the arrays as they are. A writer that builds the arrays from per-request Python
    objects holds the GIL in many small pieces and slowed the service's event loop by ~20 % on
    single-window requests (2 cores).
    """

    def __init__(self, capacity: int):
        self.capacity = capacity
        self.n = 0
        self.first_at: float | None = None
        self.windows: np.ndarray | None = None  # (capacity, window, channels), on the first record with windows
        self.probabilities: np.ndarray | None = None  # (capacity, classes)
        self.received_at = np.empty(capacity, dtype=np.float64)
        self.window_start_ms = np.empty(capacity, dtype=np.float64)
        self.request = np.empty(capacity, dtype=np.int32)  # index into stream_ids / endpoints
        self.stream_ids: List[str] = []
        self.endpoints: List[str] = []

    def fits(self, windows: np.ndarray | None, probabilities: np.ndarray) -> bool:
        """Whether these arrays have the shapes of what is already in the segment."""
        if self.probabilities is not None and probabilities.shape[1:] != self.probabilities.shape[1:]:
            return False
        return windows is None or self.windows is None or windows.shape[1:] == self.windows.shape[1:]

    def add(self, now: float, endpoint: str, windows: np.ndarray | None, probabilities: np.ndarray,
            stream_id: str, starts: np.ndarray | None) -> None:
        a, b = self.n, self.n + len(probabilities)
        if self.probabilities is None:
            self.probabilities = np.empty((self.capacity, *probabilities.shape[1:]), dtype=np.float32)
        if windows is not None and self.windows is None:
            self.windows = np.empty((self.capacity, *windows.shape[1:]), dtype=np.float32)
        self.probabilities[a:b] = probabilities
        if windows is not None:
            self.windows[a:b] = windows
        self.received_at[a:b] = now
        self.window_start_ms[a:b] = np.nan if starts is None else starts
        self.request[a:b] = len(self.stream_ids)
        self.stream_ids.append(stream_id)
        self.endpoints.append(endpoint)
        self.n = b
        if self.first_at is None:
            self.first_at = now


class ServingLogWriter:
    """Buffers records in memory and writes them to segment files from a daemon thread.

    The caller must not modify the arrays it passes to `record` afterwards (they
    are queued by reference, not copied, to keep the request path cheap).
    """

    def __init__(self, settings: ServingLogSettings, model_name: str, model_version: str,
                 class_names: Sequence[str] = (), channel_names: Sequence[str] = (),
                 report: Callable[[str, int], None] | None = None):
        """`report(outcome, windows)` is called from the writer's thread, never on the request path, with the
        windows "logged" (written to a file), "dropped" (queue full, or a write failed) and "sampled_out" since
        its last call: a metrics counter costs the request path nothing (in BentoML's multiprocess
        Prometheus mode every increment writes a memory-mapped file under a lock)."""
        self.settings = settings
        self._report = report
        self._reported = {"logged": 0, "dropped": 0, "sampled_out": 0}
        self.model_name, self.model_version = str(model_name), str(model_version)
        self.class_names, self.channel_names = [str(c) for c in class_names], [str(c) for c in channel_names]
        self.log_dir = resolve_log_dir(settings, self.model_name)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.max_full_segments = 3  # written-behind segments waiting for the disk; beyond them records are dropped
        self.written = 0  # windows written to segment files
        self.dropped = 0  # windows dropped because the queue was full (or the writer closed)
        self.sampled_out = 0  # windows of requests not logged by sampling
        self.segments_written = 0
        self.write_errors = 0
        self._current = _Segment(settings.segment_records)
        self._full: Deque[_Segment] = deque()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._flush_requested = False
        self._writing = False
        self._seq = 0
        self._random = random.Random()
        self._thread = threading.Thread(target=self._run, name="har-serving-log", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ request path
    def record(self, endpoint: str, windows: np.ndarray, probabilities: np.ndarray, stream_id: str | None = None,
               window_start_ms: np.ndarray | None = None) -> bool:
        """Queue one request's windows and probabilities; True if queued. Never blocks, never raises on a full
        queue (the windows are counted in `dropped`)."""
        rate = self.settings.sample_rate
        if rate < 1.0 and self._random.random() >= rate:
            self.sampled_out += len(probabilities)
            return False
        n = len(probabilities)
        if n == 0:
            return False
        now = time.time()
        windows = windows if self.settings.include_windows else None
        stream_id = stream_id or ""
        wake = False
        with self._lock:
            if self._closed:
                self.dropped += n
                return False
            offset = 0
            while offset < n:  # a request larger than a segment is split across segments
                segment = self._current
                room = segment.capacity - segment.n
                if room == 0 or not segment.fits(windows, probabilities):
                    if self._closed or len(self._full) >= self.max_full_segments:
                        break
                    self._full.append(segment)
                    self._current = _Segment(self.settings.segment_records)
                    wake = True
                    continue
                k = min(room, n - offset)
                segment.add(now, endpoint, None if windows is None else windows[offset:offset + k],
                            probabilities[offset:offset + k], stream_id,
                            None if window_start_ms is None else window_start_ms[offset:offset + k])
                offset += k
            if offset < n:
                self.dropped += n - offset
        if wake:
            self._wake.set()
        return offset == n

    # ------------------------------------------------------------------ background thread
    def _run(self) -> None:
        while True:
            with self._lock:
                first_at = self._current.first_at
            timeout = self.settings.flush_seconds if first_at is None else \
                max(0.0, first_at + self.settings.flush_seconds - time.time())
            self._wake.wait(timeout)
            self._wake.clear()
            self._drain()
            self._report_counts()
            with self._lock:
                if self._closed and not self._full and self._current.n == 0:
                    return

    def _report_counts(self) -> None:
        """Hand the counts since the last report to `report` (writer thread only)."""
        if self._report is None:
            return
        for outcome, total in (("logged", self.written), ("dropped", self.dropped),
                               ("sampled_out", self.sampled_out)):
            delta = total - self._reported[outcome]
            if delta > 0:
                self._reported[outcome] = total
                try:
                    self._report(outcome, delta)
                except Exception as error:  # metrics must never stop the log
                    logger.warning("serving log: reporting %s failed: %s", outcome, error)

    def _take(self) -> List[_Segment]:
        """The full segments, and the current one when it is due (flush_seconds old, a flush, or closing)."""
        with self._lock:
            taken = list(self._full)
            self._full.clear()
            current = self._current
            due = current.first_at is not None and time.time() >= current.first_at + self.settings.flush_seconds
            if current.n and (due or self._flush_requested or self._closed):
                taken.append(current)
                self._current = _Segment(self.settings.segment_records)
            self._flush_requested = False
            self._writing = bool(taken)
        return taken

    def _drain(self) -> None:
        try:
            for segment in self._take():
                try:
                    self._write_segment(segment)
                    self._enforce_limits()
                except Exception as error:  # a full disk must not take the service down; counted and logged
                    self.write_errors += 1
                    self.dropped += segment.n
                    logger.warning("serving log: could not write a segment to %s: %s", self.log_dir, error)
        finally:
            with self._lock:
                self._writing = False

    def _write_segment(self, segment: _Segment) -> Path:
        arrays = segment_arrays(segment, self.model_name, self.model_version, self.class_names, self.channel_names)
        self._seq += 1
        stamp = datetime.fromtimestamp(segment.first_at, tz=UTC).strftime("%Y%m%dT%H%M%S.%f")
        name = f"{SEGMENT_PREFIX}{stamp}-{os.getpid()}-{self._seq:06d}{SEGMENT_SUFFIX}"
        path = self.log_dir / name
        temp = self.log_dir / f"{TEMP_PREFIX}{name}"
        # Written to a temporary name and renamed: a reader never sees half a segment. No fsync: forcing
        # ~10 MB to disk every segment made the kernel throttle every writer on the machine, the service's
        # per-request metrics files included (-26 % single-window throughput); a crash loses at most the
        # last seconds of a sampled monitoring log, and a segment the crash left torn is skipped on reading.
        with open(temp, "wb") as handle:
            np.savez(handle, **arrays)
        os.replace(temp, path)
        n = len(arrays["received_at"])
        self.written += n
        self.segments_written += 1
        return path

    def _enforce_limits(self) -> None:
        enforce_limits(self.log_dir, self.settings.max_bytes, self.settings.retention_days)

    # ------------------------------------------------------------------ shutdown
    def flush(self, timeout: float = 10.0) -> bool:
        """Write everything queued so far now; True when it was written within `timeout` seconds."""
        deadline = time.time() + timeout
        self._flush_requested = True
        self._wake.set()
        while time.time() < deadline:
            with self._lock:
                if self._current.n == 0 and not self._full and not self._writing:
                    return True
            time.sleep(0.005)
        return False

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued and stop the thread (call from the service's shutdown)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._wake.set()
        self._thread.join(timeout)

    def stats(self) -> Dict[str, int]:
        return {"written": self.written, "dropped": self.dropped, "sampled_out": self.sampled_out,
                "segments_written": self.segments_written, "write_errors": self.write_errors,
                "pending": self._current.n + sum(s.n for s in self._full)}


def segment_arrays(segment: _Segment, model_name: str, model_version: str, class_names: Sequence[str],
                   channel_names: Sequence[str]) -> Dict[str, np.ndarray]:
    """The arrays of one segment file (see the module docstring): the segment's own arrays, vectorised."""
    n = segment.n
    request = segment.request[:n]
    return {
        "format_version": np.asarray(FORMAT_VERSION, dtype=np.int64),
        "received_at": segment.received_at[:n],
        "stream_id": np.asarray(segment.stream_ids, dtype=str)[request],
        "window_start_ms": segment.window_start_ms[:n],
        "probabilities": segment.probabilities[:n],
        "windows": segment.windows[:n] if segment.windows is not None else np.zeros((0, 0, 0), dtype=np.float32),
        "model_version": np.full(n, model_version, dtype=f"<U{max(1, len(model_version))}"),
        "endpoint": np.asarray(segment.endpoints, dtype=str)[request],
        "model_name": np.asarray([model_name], dtype=str),
        "class_names": np.asarray(list(class_names), dtype=str),
        "channel_names": np.asarray(list(channel_names), dtype=str),
    }


def segment_files(log_dir: Path) -> List[Path]:
    """Complete segment files, oldest first (temporary files of a write in progress are not listed)."""
    if not log_dir.is_dir():
        return []
    return sorted(p for p in log_dir.iterdir() if _SEGMENT_NAME.match(p.name))


def enforce_limits(log_dir: Path, max_bytes: int, retention_days: float, now: float | None = None) -> List[Path]:
    """Delete segments older than the retention, then the oldest until the folder fits `max_bytes`; returns them."""
    now = time.time() if now is None else now
    deleted: List[Path] = []
    sized: List[Tuple[Path, int]] = []
    for path in segment_files(log_dir):
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        if stat.st_mtime < now - retention_days * 86400.0:
            _unlink(path, deleted)
        else:
            sized.append((path, stat.st_size))
    total = sum(size for _, size in sized)
    for path, size in sized:
        if total <= max_bytes:
            break
        _unlink(path, deleted)
        total -= size
    for path in log_dir.glob(f"{TEMP_PREFIX}*"):  # left by a writer that died mid-write
        try:
            if path.stat().st_mtime < now - _STALE_TEMP_SECONDS:
                path.unlink()
        except FileNotFoundError:
            pass
    return deleted


def _unlink(path: Path, deleted: List[Path]) -> None:
    try:
        path.unlink()
        deleted.append(path)
    except FileNotFoundError:
        pass


@dataclass(frozen=True)
class ServingLogRecords:
    """Windows read back from a serving log, sorted by (stream_id, window start or receive time)."""

    received_at: np.ndarray  # float64 epoch s
    stream_id: np.ndarray  # str
    window_start_ms: np.ndarray  # float64 epoch ms (NaN: the request carried no time)
    probabilities: np.ndarray  # float32 (n, classes)
    windows: np.ndarray | None  # float32 (n, samples, channels); None when the log holds no raw windows
    model_version: np.ndarray  # str
    endpoint: np.ndarray  # str
    class_names: List[str]
    channel_names: List[str]
    model_name: str
    log_dir: str
    since: datetime | None = None
    until: datetime | None = None
    skipped_files: int = 0

    @property
    def n_windows(self) -> int:
        return int(len(self.received_at))

    @property
    def n_streams(self) -> int:
        return int(len(np.unique(self.stream_id)))

    @property
    def model_versions(self) -> List[str]:
        return sorted(str(v) for v in np.unique(self.model_version))

    def start_ms(self) -> np.ndarray:
        """The window start where the request gave one, else the receive time (ms)."""
        return np.where(np.isnan(self.window_start_ms), self.received_at * 1000.0, self.window_start_ms)

    def describe(self) -> str:
        return (f"serving log {self.log_dir} {describe_range(self.since, self.until)}, {self.n_windows} windows, "
                f"{self.n_streams} streams, model versions {', '.join(self.model_versions)}")


def describe_range(since: datetime | None, until: datetime | None) -> str:
    def text(moment: datetime | None) -> str:
        return "" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    return f"{text(since) or 'start'}..{text(until) or 'now'}"


def _epoch(moment: datetime | None) -> float | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _load_segment(path: Path) -> Dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as content:
        arrays = {name: content[name] for name in content.files}
    n = len(arrays["received_at"])
    for name in ("stream_id", "window_start_ms", "model_version", "endpoint"):
        if arrays[name].shape != (n,):
            raise ValueError(f"{name} has shape {arrays[name].shape}, expected ({n},)")
    if arrays["probabilities"].shape[0] != n or arrays["probabilities"].ndim != 2:
        raise ValueError(f"probabilities has shape {arrays['probabilities'].shape}, expected ({n}, classes)")
    if arrays["windows"].size and arrays["windows"].shape[0] != n:
        raise ValueError(f"windows has {arrays['windows'].shape[0]} rows, expected {n}")
    return arrays


def read_serving_log(log_dir: str | Path, since: datetime | None = None, until: datetime | None = None,
                     model_name: str | None = None) -> ServingLogRecords:
    """The records received in [since, until) (naive datetimes are UTC), sorted by stream and time.

    Corrupt or partial segment files are skipped with a warning. Raises `BadInput`
    naming the folder, the range and what to do when nothing is there.
    """
    folder = Path(log_dir)
    span = describe_range(since, until)
    low, high = _epoch(since), _epoch(until)
    if low is not None and high is not None and low >= high:
        raise BadInput(f"serving log {folder}: empty time range {span} (since must be before until)")
    files = segment_files(folder)
    if not files:
        what = "does not exist" if not folder.exists() else "holds no segment files"
        raise BadInput(f"serving log {folder} {what} (range {span}); {ENABLE_HINT}")
    parts: List[Dict[str, np.ndarray]] = []
    skipped = 0
    for path in files:
        if high is not None and _segment_start(path) >= high:
            continue  # segments are named by their first record: all later
        try:
            arrays = _load_segment(path)
        except Exception as error:  # a partial or foreign file: skip it, never crash the monitor
            skipped += 1
            logger.warning("serving log: skipped unreadable segment %s (%s)", path, error)
            continue
        if model_name is not None and str(arrays["model_name"][0]) != model_name:
            continue
        keep = np.ones(len(arrays["received_at"]), dtype=bool)
        if low is not None:
            keep &= arrays["received_at"] >= low
        if high is not None:
            keep &= arrays["received_at"] < high
        if keep.any():
            parts.append({k: (v[keep] if k in _PER_WINDOW and (k != "windows" or v.size) else v)
                          for k, v in arrays.items()})
    if not parts:
        model = f" for model {model_name}" if model_name else ""
        raise BadInput(f"serving log {folder}: no record{model} in {span} ({len(files)} segment file(s), "
                       f"{skipped} unreadable); widen --since/--until, or {ENABLE_HINT}")
    newest = parts[-1]
    classes, channels = list(newest["class_names"]), list(newest["channel_names"])
    same = [p for p in parts if list(p["class_names"]) == classes and list(p["channel_names"]) == channels]
    if len(same) < len(parts):
        logger.warning("serving log: %d segment(s) of a model with other classes or channels left out",
                       len(parts) - len(same))
    with_windows = all(p["windows"].size for p in same)
    received = np.concatenate([p["received_at"] for p in same])
    stream = np.concatenate([p["stream_id"] for p in same])
    starts = np.concatenate([p["window_start_ms"] for p in same])
    order = np.lexsort((received, np.where(np.isnan(starts), received * 1000.0, starts), stream))
    return ServingLogRecords(
        received_at=received[order],
        stream_id=stream[order],
        window_start_ms=starts[order],
        probabilities=np.concatenate([p["probabilities"] for p in same])[order],
        windows=np.concatenate([p["windows"] for p in same])[order] if with_windows else None,
        model_version=np.concatenate([p["model_version"] for p in same])[order],
        endpoint=np.concatenate([p["endpoint"] for p in same])[order],
        class_names=[str(c) for c in classes],
        channel_names=[str(c) for c in channels],
        model_name=str(newest["model_name"][0]),
        log_dir=str(folder),
        since=since,
        until=until,
        skipped_files=skipped,
    )


_PER_WINDOW = ("received_at", "stream_id", "window_start_ms", "probabilities", "windows", "model_version", "endpoint")


def _segment_start(path: Path) -> float:
    match = _SEGMENT_NAME.match(path.name)
    stamp = datetime.strptime(match.group(1), "%Y%m%dT%H%M%S.%f").replace(tzinfo=UTC) if match else None
    return stamp.timestamp() if stamp else float("-inf")


_RELATIVE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_UNIT_SECONDS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}


def parse_moment(text: str, now: datetime | None = None) -> datetime:
    """A point in time from ISO-8601 (`2026-05-01T10:00`, `2026-05-01T10:00:00+02:00`; naive means UTC) or a
    time before `now`: `30s`, `15m`, `1h`, `2d`, `1w`. Returns an aware UTC datetime."""
    now = now or datetime.now(UTC)
    match = _RELATIVE.match(str(text))
    if match:
        return (now - timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])).astimezone(UTC)
    try:
        moment = datetime.fromisoformat(str(text).strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not a time: give ISO-8601 (2026-05-01T10:00:00Z) or a duration before now "
                         "(30m, 1h, 2d)") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
