"""Deterministic synthetic wearable-IMU data in the project's on-disk input format.

Every recording is written as::

    <out_dir>/<recording_id>/accelerometer.csv   timestamp,x,y,z   (g)
    <out_dir>/<recording_id>/gyroscope.csv       timestamp,x,y,z   (rad/s)
    <out_dir>/<recording_id>/labels.csv          start,end,activity
    <out_dir>/<recording_id>/meta.json

The signal model is a simple but physically coherent IMU simulation:

* **Posture and orientation.** The device sits in a subject-specific mount
  (tilt up to ~35 degrees, yaw about the long axis up to +-45 degrees) so that
  gravity (1 g) lands on different sensor axes per subject. Standing and gait
  are roughly upright; sitting pitches the device by 50-80 degrees. Static
  postures add slow drift, sway and occasional posture shifts. The gyroscope
  sees the time derivative of all of these rotations.
* **Gait.** Walking, running and stairs are sums of harmonics of a stride phase
  whose frequency is subject-specific and varies cycle to cycle. Vertical
  acceleration is dominated by the step frequency (two steps per stride), with
  subject-specific 2nd/3rd harmonics, left/right asymmetry and heel-strike
  impact pulses (sharp for downstairs and running, soft for upstairs). Arm/leg
  swing is modelled as a rotation at the stride frequency: it produces the
  gyroscope oscillation *and* the matching gravity modulation in the
  accelerometer. Turns (and stair landings) add yaw-rate bursts with the
  corresponding centripetal acceleration.
* **Sensor.** Per-device gain error (+-3 %), bias and white noise; accelerometer
  and gyroscope are sampled independently (own start offset, rate error,
  timing jitter; optionally a different gyroscope rate). Harmonics above 0.45x
  a stream's rate are faded out, as an anti-aliasing filter would.
* **Activities.** Each recording visits the requested activities in a seeded
  random order, ~`seconds_per_activity` each (+-20 %). Consecutive activities
  blend smoothly over `transition_seconds`; transitions, the lead-in and the
  lead-out are not covered by any label row.

All randomness derives from `seed` and the *subject number* (not the position
in the run), so the same arguments give byte-identical files and a different
`first_subject` gives new, unseen subjects. Pure numpy; no ZenML/TensorFlow.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np

DEFAULT_ACTIVITIES = (
    "walking",
    "running",
    "sitting",
    "standing",
    "walking_upstairs",
    "walking_downstairs",
)
GAIT_ACTIVITIES = ("walking", "running", "walking_upstairs", "walking_downstairs")
STATIC_ACTIVITIES = ("sitting", "standing")
TIMESTAMP_FORMATS = ("epoch_ms", "iso8601")
GENERATOR_NAME = "har.synthetic"
GENERATOR_VERSION = 1

_K = 24  # stride harmonics modelled (k * stride frequency, k = 1.._K)
_HARMONICS = np.arange(1, _K + 1)
_CTRL_HZ = 100.0  # rate of the internal grid for slowly varying quantities
_DEG = math.pi / 180.0
# Device frame (u, f, l) = (up, forward, left) -> sensor axes (x, y, z): x = u, y = -l, z = f (a rotation).
_BODY_TO_SENSOR = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
# Sensor streams written per recording (also the order in which their random draws are made).
_STREAMS = ("accelerometer", "gyroscope")


# --------------------------------------------------------------------------------------------------
# Parameters
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Activity:
    name: str
    stride_hz: float  # stride (= two steps) frequency; for static postures the subject's walking stride
    coef: np.ndarray  # (6, _K) complex: acc u, f, l (g) and swing angle about u, f, l (rad) per harmonic
    pitch: float  # posture: rotation about the lateral axis (rad)
    roll: float  # posture: rotation about the forward axis (rad)
    speed: float  # horizontal speed (m/s), for the centripetal acceleration in turns
    turn_every: Tuple[float, float]  # seconds between turns (uniform range); (0, 0) = never
    turn_deg: Tuple[float, float]  # turn angle range (degrees)
    stair_turns: bool  # landings: 180-degree turns, always the same direction within a segment
    cadence_cv: float  # cycle-to-cycle cadence variation (relative std)
    amp_cv: float  # cycle-to-cycle amplitude variation (relative std)

    @property
    def is_static(self) -> bool:
        return self.name in STATIC_ACTIVITIES


@dataclass(frozen=True)
class _Subject:
    number: int
    subject_id: str
    activities: Dict[str, _Activity]
    mount: np.ndarray  # (3, 3) device frame -> sensor frame
    acc_gain: np.ndarray
    acc_bias: np.ndarray
    acc_noise: float
    gyro_gain: np.ndarray
    gyro_bias: np.ndarray
    gyro_noise: float
    drift_deg: float  # slow orientation drift (std) in static postures
    sway_deg: float  # postural sway (std)
    shift_deg: float  # size (std) of occasional posture shifts in static postures
    fidget_g: float  # small body micro-movements in static postures (std, g)
    summary: Dict[str, float]


def _rotation(axis: np.ndarray, angle: float) -> np.ndarray:
    axis = np.asarray(axis, dtype=float)
    axis = axis / np.linalg.norm(axis)
    k = np.array([[0.0, -axis[2], axis[1]], [axis[2], 0.0, -axis[0]], [-axis[1], axis[0], 0.0]])
    return np.eye(3) + math.sin(angle) * k + (1.0 - math.cos(angle)) * (k @ k)


def _impacts(
    stride_hz: float, amp: float, width_s: float, asym: float, phase: float, skew: float
) -> np.ndarray:
    """Fourier coefficients (over stride harmonics) of two Gaussian heel-strike pulses per stride.

    Foot one strikes at stride phase `phase`, foot two at `phase + pi + skew`; their peak amplitudes
    are `amp * (1 +- asym)`. The DC part is dropped (an accelerometer's dynamic part has zero mean).
    """
    period = 1.0 / stride_hz
    k = _HARMONICS
    area = 2.0 * width_s * math.sqrt(2.0 * math.pi) / period
    envelope = area * np.exp(-0.5 * (2.0 * math.pi * k * width_s / period) ** 2)
    feet = amp * (1.0 + asym) * np.exp(-1j * k * phase) + amp * (1.0 - asym) * np.exp(
        -1j * k * (phase + math.pi + skew)
    )
    return envelope * feet


def _subject(seed: int, number: int) -> _Subject:
    """All parameters of one subject and their device; depends only on (seed, number)."""
    rng = np.random.default_rng([seed, 1, number])
    u = rng.uniform

    def phase() -> float:
        return float(u(-math.pi, math.pi))

    # Subject gait "style": harmonic ratios/phases shared across gait activities (modified per activity).
    # Human gait waveforms share one shape (heel strike, push-off); subjects vary around it rather than
    # having arbitrary harmonic phases, which no model could generalise across.
    style_r2, style_r3 = u(0.3, 0.5), u(0.1, 0.2)
    style_p1 = phase()
    style_p2, style_p3 = style_p1 * 2 + 0.8 + u(-0.4, 0.4), style_p1 * 3 - 0.5 + u(-0.4, 0.4)
    style_fwd_ratio, style_fwd_phase = u(0.4, 0.65), style_p1 + 1.2 + u(-0.4, 0.4)
    style_lat_ratio, style_lat_phase = u(0.3, 0.5), style_p1 / 2 + u(-0.5, 0.5)
    style_asym = u(0.03, 0.12)
    swing_roll_ratio, swing_yaw_ratio = u(0.15, 0.45), u(0.15, 0.45)
    swing_p2, swing_p3 = phase(), phase()

    walk_step = u(1.6, 2.1)  # steps per second
    steps = {
        "walking": walk_step,
        "running": u(2.5, 3.2),
        "walking_upstairs": walk_step * u(0.7, 0.82),
        "walking_downstairs": walk_step * u(1.08, 1.2),
    }
    walk_swing = u(0.5, 1.5)  # peak swing angular rate, rad/s
    swing_rate = {
        "walking": walk_swing,
        "running": u(2.0, 4.0),
        "walking_upstairs": walk_swing * u(0.6, 1.0),
        "walking_downstairs": walk_swing * u(0.8, 1.2),
    }
    # (fundamental amp g, r2 scale, phase-2 offset, impact amp g, impact width s, asymmetry, lean deg)
    gait_shape = {
        "walking": (u(0.25, 0.4), 1.0, 0.0, u(0.15, 0.3), u(0.04, 0.06), style_asym, u(0.0, 3.0)),
        "running": (
            u(0.7, 1.1), u(0.6, 1.0), u(-0.4, 0.4), u(0.6, 1.2), u(0.03, 0.04), style_asym, u(3.0, 8.0)
        ),
        "walking_upstairs": (
            u(0.15, 0.3),
            u(1.4, 1.8),
            math.pi / 2 + u(-0.4, 0.4),
            u(0.03, 0.1),
            u(0.07, 0.09),
            style_asym + u(0.15, 0.3),
            u(9.0, 15.0),
        ),
        "walking_downstairs": (
            u(0.3, 0.5),
            u(0.7, 1.0),
            -math.pi / 3 + u(-0.4, 0.4),
            u(0.5, 0.9),
            u(0.015, 0.025),
            style_asym + u(0.05, 0.2),
            u(-7.0, -3.0),
        ),
    }
    speeds = {
        "walking": u(1.1, 1.5),
        "running": u(2.5, 3.5),
        "walking_upstairs": u(0.4, 0.6),
        "walking_downstairs": u(0.45, 0.7),
    }
    stand_pitch, stand_roll = rng.normal(0.0, 3.0), rng.normal(0.0, 3.0)
    # Sitting tilts the device by 50-80 degrees (thigh/wrist) - except for about one subject in four whose
    # device stays fairly upright when seated (upper body, forearm on an armrest): 20-40 degrees.
    upright_sitter = u() < 0.15
    sit_pitch, sit_roll = (u(30.0, 45.0) if upright_sitter else u(50.0, 80.0)), rng.normal(0.0, 8.0)
    cadence_cv, amp_cv = u(0.015, 0.04), u(0.05, 0.15)

    activities: Dict[str, _Activity] = {}
    for name in GAIT_ACTIVITIES:
        stride = steps[name] / 2.0
        a1, r2_scale, p2_off, imp_amp, imp_w, asym, lean = gait_shape[name]
        coef = np.zeros((6, _K), dtype=complex)
        # vertical (u): step-frequency fundamental (k=2) and its harmonics, stride asymmetry (odd k), impacts
        coef[0, 1] = a1 * np.exp(1j * style_p1)
        coef[0, 3] = a1 * style_r2 * r2_scale * np.exp(1j * (style_p2 + p2_off))
        coef[0, 5] = a1 * style_r3 * np.exp(1j * style_p3)
        coef[0, 0] = a1 * asym * np.exp(1j * (style_p1 / 2 + 0.7))
        coef[0, 2] = a1 * asym * 0.5 * np.exp(1j * (style_p2 / 2 - 0.3))
        impact_phase = -style_p1 / 2 + u(-0.3, 0.3)
        impacts = _impacts(stride, imp_amp, imp_w, asym, impact_phase, u(-0.1, 0.1))
        coef[0] += impacts
        # forward (f): step-frequency oscillation plus braking at heel strike
        fwd = style_fwd_ratio * (1.4 if name == "walking_upstairs" else 1.0)
        coef[1, 1] = a1 * fwd * np.exp(1j * style_fwd_phase)
        coef[1, 3] = a1 * fwd * 0.3 * np.exp(1j * (style_fwd_phase + style_p2))
        coef[1] -= 0.3 * impacts * np.exp(-1j * 0.15 * _HARMONICS)
        # lateral (l): body sway at the stride frequency
        coef[2, 0] = a1 * style_lat_ratio * np.exp(1j * style_lat_phase)
        coef[2, 2] = a1 * style_lat_ratio * 0.25 * np.exp(1j * (3 * style_lat_phase + 0.5))
        # swing angles (about u = yaw, f = roll, l = pitch): peak rate swing_rate at the stride frequency
        angle = swing_rate[name] / (2.0 * math.pi * stride)
        swing = angle * np.exp(1j * (style_p1 / 2 + u(-0.4, 0.4)))
        coef[5, 0] = swing
        coef[5, 1] = angle * u(0.05, 0.2) * np.exp(1j * swing_p2)
        coef[5, 2] = angle * u(0.05, 0.15) * np.exp(1j * swing_p3)
        coef[4, 0] = swing * swing_roll_ratio * np.exp(1j * u(-1.0, 1.0))
        coef[3, 0] = swing * swing_yaw_ratio * np.exp(1j * u(-1.0, 1.0))
        stairs = name in ("walking_upstairs", "walking_downstairs")
        activities[name] = _Activity(
            name=name,
            stride_hz=stride,
            coef=coef,
            pitch=(stand_pitch + lean) * _DEG,
            roll=(stand_roll + rng.normal(0.0, 1.5)) * _DEG,
            speed=speeds[name],
            turn_every={"walking": (8.0, 25.0), "running": (15.0, 40.0)}.get(name, (5.0, 10.0)),
            turn_deg={"walking": (30.0, 180.0), "running": (20.0, 120.0)}.get(name, (180.0, 180.0)),
            stair_turns=stairs,
            cadence_cv=cadence_cv,
            amp_cv=amp_cv,
        )
    walk_stride = steps["walking"] / 2.0
    for name, pitch, roll in (("standing", stand_pitch, stand_roll), ("sitting", sit_pitch, sit_roll)):
        activities[name] = _Activity(
            name=name,
            stride_hz=walk_stride,
            coef=np.zeros((6, _K), dtype=complex),
            pitch=pitch * _DEG,
            roll=roll * _DEG,
            speed=0.0,
            turn_every=(0.0, 0.0),
            turn_deg=(0.0, 0.0),
            stair_turns=False,
            cadence_cv=cadence_cv,
            amp_cv=amp_cv,
        )

    # Device: mount orientation and sensor errors (own stream, so gait changes never move the device).
    dev = np.random.default_rng([seed, 2, number])
    mount_yaw = dev.uniform(-25.0, 25.0)
    mount_tilt = min(abs(dev.normal(0.0, 8.0)), 20.0)
    tilt_dir = dev.uniform(-math.pi, math.pi)
    mount = (
        _BODY_TO_SENSOR
        @ _rotation(np.array([0.0, math.cos(tilt_dir), math.sin(tilt_dir)]), mount_tilt * _DEG)
        @ _rotation(np.array([1.0, 0.0, 0.0]), mount_yaw * _DEG)
    )
    summary = {
        **{f"{name}_cadence_hz": steps[name] for name in GAIT_ACTIVITIES},
        **{f"{name}_swing_rad_s": swing_rate[name] for name in GAIT_ACTIVITIES},
        "sitting_pitch_deg": sit_pitch,
        "mount_tilt_deg": mount_tilt,
        "mount_yaw_deg": mount_yaw,
    }
    return _Subject(
        number=number,
        subject_id=f"s{number:02d}",
        activities=activities,
        mount=mount,
        acc_gain=dev.uniform(0.97, 1.03, 3),
        acc_bias=dev.uniform(-0.03, 0.03, 3),
        acc_noise=float(dev.uniform(0.01, 0.03)),
        gyro_gain=dev.uniform(0.97, 1.03, 3),
        gyro_bias=dev.uniform(-0.02, 0.02, 3),
        gyro_noise=float(dev.uniform(0.01, 0.03)),
        drift_deg=float(u(0.5, 2.0)),
        sway_deg=float(u(0.2, 0.8)),
        shift_deg=float(u(3.0, 8.0)),
        fidget_g=float(u(0.003, 0.01)),
        summary={key: round(float(value), 4) for key, value in summary.items()},
    )


@dataclass(frozen=True)
class SubjectVariation:
    """How much people differ beyond the base model (see `generate_dataset`); all zeros = the base model.

    Every subject draws its variation from its own random stream, always all draws in the same order, so
    turning one knob never reshuffles another's draws and a subject stays the same person across runs.
    """

    placement_mix: float = 0.0
    orientation_deg: float = 0.0
    other_wrist_fraction: float = 0.0
    cadence_spread: float = 0.0
    intensity_spread: float = 0.0
    within_subject_noise: float = 0.0

    @property
    def active(self) -> bool:
        return any(value != 0.0 for value in asdict(self).values())

    def check(self) -> None:
        for name, value in asdict(self).items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        for name in ("placement_mix", "other_wrist_fraction"):
            if getattr(self, name) > 1.0:
                raise ValueError(f"{name} is a share of subjects in [0, 1], got {getattr(self, name)}")
        if self.orientation_deg > 180.0:
            raise ValueError(f"orientation_deg must lie in [0, 180], got {self.orientation_deg}")
        for name in ("cadence_spread", "intensity_spread"):
            if getattr(self, name) > 0.5:
                raise ValueError(f"{name} is a relative (log-normal) spread in [0, 0.5], got {getattr(self, name)}")
        if self.within_subject_noise > 3.0:
            raise ValueError(f"within_subject_noise must lie in [0, 3], got {self.within_subject_noise}")


def _vary_subject(subject: _Subject, seed: int, number: int, variation: SubjectVariation) -> _Subject:
    """`subject` as worn and moved by a particular person: placement, orientation, cadence, intensity, noise."""
    rng = np.random.default_rng([seed, 4, number])
    pocket_draw, pocket_acc_gain, pocket_tilt = rng.uniform(), rng.uniform(1.2, 1.6), rng.uniform(0.1, 0.35)
    pocket_swing_gain, pocket_sit_pitch = rng.uniform(1.8, 2.6), rng.uniform(75.0, 95.0)
    axis, angle_share, other_wrist_draw = rng.normal(size=3), rng.uniform(), rng.uniform()
    cadence_z, intensity_z = np.clip(rng.normal(size=2), -2.5, 2.5)
    activity_z = np.clip(rng.normal(size=len(GAIT_ACTIVITIES)), -2.5, 2.5)

    pocket = pocket_draw < variation.placement_mix
    other_wrist = other_wrist_draw < variation.other_wrist_fraction
    angle = variation.orientation_deg * angle_share
    cadence = math.exp(variation.cadence_spread * cadence_z)
    intensity = math.exp(variation.intensity_spread * intensity_z)
    # Harmonic emphasis of a thigh-worn device: sharper heel strikes (relative to the step frequency, k = 2).
    harmonic_gain = pocket_acc_gain * (_HARMONICS / 2.0) ** pocket_tilt
    within = 1.0 + variation.within_subject_noise

    activities: Dict[str, _Activity] = {}
    for name, act in subject.activities.items():
        coef, pitch = act.coef.copy(), act.pitch
        if name in GAIT_ACTIVITIES:
            coef *= intensity * math.exp(0.5 * variation.intensity_spread * activity_z[GAIT_ACTIVITIES.index(name)])
            if pocket:  # the thigh swings about the lateral axis: strong pitch swing, little roll/yaw
                coef[:3] *= harmonic_gain
                coef[5] *= pocket_swing_gain
                coef[3:5] *= 0.5
                coef[5, 0] *= min(1.0, 0.8 / max(abs(coef[5, 0]), 1e-9))  # thigh swing stays below ~45 deg
        elif name == "sitting" and pocket:
            pitch = pocket_sit_pitch * _DEG  # thigh horizontal
        activities[name] = replace(
            act,
            stride_hz=act.stride_hz * cadence,
            coef=coef,
            pitch=pitch,
            cadence_cv=act.cadence_cv * within,
            amp_cv=act.amp_cv * within,
        )
    rotation = _rotation(axis, angle * _DEG)
    if other_wrist:  # the watch on the other arm: turned 180 degrees about the forward axis
        rotation = rotation @ _rotation(np.array([0.0, 1.0, 0.0]), math.pi)
    summary = dict(subject.summary)
    for name in GAIT_ACTIVITIES:
        summary[f"{name}_cadence_hz"] = round(2.0 * activities[name].stride_hz, 4)
    if pocket:
        summary["sitting_pitch_deg"] = round(float(pocket_sit_pitch), 4)
    summary.update(
        placement_pocket=float(pocket),
        other_wrist=float(other_wrist),
        orientation_deg=round(float(angle), 4),
        cadence_factor=round(cadence, 4),
        intensity_factor=round(intensity, 4),
    )
    return replace(
        subject,
        activities=activities,
        mount=subject.mount @ rotation,
        acc_noise=subject.acc_noise * within,
        gyro_noise=subject.gyro_noise * within,
        drift_deg=subject.drift_deg * within,
        sway_deg=subject.sway_deg * within,
        summary=summary,
    )


def _vary_recording(
    subject: _Subject, seed: int, number: int, rec: int, variation: SubjectVariation
) -> Tuple[Dict[str, _Activity], np.ndarray]:
    """Within-subject variation of one recording: each bout's own effort, and how the device was put on."""
    rng = np.random.default_rng([seed, 5, number, rec])
    w = variation.within_subject_noise
    effort = np.exp(np.clip(rng.normal(size=len(subject.activities)), -2.5, 2.5) * 0.12 * w)
    pace = np.exp(np.clip(rng.normal(size=len(subject.activities)), -2.5, 2.5) * 0.03 * w)
    rewear = _rotation(rng.normal(size=3), rng.normal(0.0, 4.0 * w) * _DEG)
    activities = {
        name: replace(act, coef=act.coef * effort[i], stride_hz=act.stride_hz * pace[i])
        for i, (name, act) in enumerate(subject.activities.items())
    }
    return activities, rewear


# --------------------------------------------------------------------------------------------------
# Signal synthesis
# --------------------------------------------------------------------------------------------------


def _smooth_noise(rng: np.random.Generator, t: np.ndarray, corr_s: float) -> np.ndarray:
    """Unit-variance Gaussian noise with correlation time ~corr_s, evaluated at times t (>= 0)."""
    dt = corr_s / 4.0
    n = int(t[-1] / dt) + 4
    sigma, half = 4.0, 12
    kernel = np.exp(-0.5 * (np.arange(-half, half + 1) / sigma) ** 2)
    kernel /= np.sqrt(np.sum(kernel**2))
    smooth = np.convolve(rng.standard_normal(n + 2 * half), kernel, mode="valid")
    return np.interp(t, (np.arange(n) - 1) * dt, smooth)


def _weights(t: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """(len(t), n_segments) blend weights: 1 inside a segment, raised-cosine ramps in transitions."""
    n = len(starts)
    weights = np.ones((t.size, n))
    for i in range(n):
        if i > 0:
            a, b = ends[i - 1], starts[i]
            x = np.clip((t - a) / max(b - a, 1e-9), 0.0, 1.0)
            weights[:, i] *= 0.5 - 0.5 * np.cos(math.pi * x)
        if i < n - 1:
            a, b = ends[i], starts[i + 1]
            x = np.clip((t - a) / max(b - a, 1e-9), 0.0, 1.0)
            weights[:, i] *= 0.5 + 0.5 * np.cos(math.pi * x)
    return weights


@dataclass
class _Latent:
    """Slowly varying state on the internal control grid (_CTRL_HZ)."""

    t: np.ndarray
    theta: np.ndarray  # stride phase (rad)
    stride_hz: np.ndarray  # instantaneous stride frequency
    mod: np.ndarray  # gait amplitude modulation (cycle-to-cycle variability)
    pitch: np.ndarray
    roll: np.ndarray
    pitch_rate: np.ndarray
    roll_rate: np.ndarray
    yaw_rate: np.ndarray
    extra_acc: np.ndarray  # (n, 3) device-frame (u, f, l): centripetal + fidgeting, g


def _latent(
    rng: np.random.Generator,
    subject: _Subject,
    segments: List[_Activity],
    starts: np.ndarray,
    ends: np.ndarray,
    duration: float,
) -> _Latent:
    dt = 1.0 / _CTRL_HZ
    t = np.arange(int(math.ceil(duration * _CTRL_HZ)) + 2) * dt
    w = _weights(t, starts, ends)
    static = w @ np.array([float(a.is_static) for a in segments])

    cv = segments[0].cadence_cv
    stride = (w @ np.array([a.stride_hz for a in segments])) * (
        1.0 + cv * _smooth_noise(rng, t, 0.6) + 1.5 * cv * _smooth_noise(rng, t, 10.0)
    )
    theta = rng.uniform(0.0, 2.0 * math.pi) + 2.0 * math.pi * np.concatenate(
        [[0.0], np.cumsum(0.5 * (stride[1:] + stride[:-1]) * dt)]
    )
    mod = np.clip(1.0 + segments[0].amp_cv * _smooth_noise(rng, t, 0.8), 0.3, None)

    # Posture: blended per-activity orientation + drift/sway everywhere + posture shifts when static.
    pitch = w @ np.array([a.pitch for a in segments])
    roll = w @ np.array([a.roll for a in segments])
    for angle in (pitch, roll):
        angle += subject.drift_deg * _DEG * _smooth_noise(rng, t, 8.0)
        angle += subject.sway_deg * _DEG * _smooth_noise(rng, t, 1.0)
    shifts = np.zeros((2, t.size))
    for i, act in enumerate(segments):
        if not act.is_static:
            continue
        for when in rng.uniform(starts[i], ends[i], rng.poisson((ends[i] - starts[i]) / 20.0)):
            shifts[:, t >= when] += rng.normal(0.0, subject.shift_deg * _DEG, (2, 1))
    # smooth the steps over ~1 s, then apply only where the posture is static
    kernel = np.hanning(int(_CTRL_HZ) + 1)
    kernel /= kernel.sum()
    half = len(kernel) // 2
    for row in range(2):
        padded = np.pad(shifts[row], half, mode="edge")
        shifts[row] = np.convolve(padded, kernel, mode="valid") * static
    pitch += shifts[0]
    roll += shifts[1]

    # Turns (and stair landings): raised-cosine yaw-rate pulses inside gait segments.
    yaw_rate = np.zeros_like(t)
    centripetal = np.zeros_like(t)
    for i, act in enumerate(segments):
        if act.is_static:
            continue
        direction = rng.choice([-1.0, 1.0])
        when = starts[i] + rng.uniform(0.3, 1.0) * rng.uniform(*act.turn_every)
        while True:
            length = rng.uniform(2.0, 3.5) if act.stair_turns else rng.uniform(1.5, 3.0)
            if when + length > ends[i]:
                break
            sign = direction if act.stair_turns else rng.choice([-1.0, 1.0])
            delta = sign * rng.uniform(*act.turn_deg) * _DEG
            inside = (t >= when) & (t < when + length)
            pulse = delta / length * (1.0 - np.cos(2.0 * math.pi * (t[inside] - when) / length))
            yaw_rate[inside] += pulse
            centripetal[inside] += act.speed * pulse / 9.80665
            when += length + rng.uniform(*act.turn_every)

    extra = np.zeros((t.size, 3))
    extra[:, 2] = centripetal
    for axis in range(3):
        extra[:, axis] += subject.fidget_g * static * _smooth_noise(rng, t, 0.3)
    return _Latent(
        t=t,
        theta=theta,
        stride_hz=stride,
        mod=mod,
        pitch=pitch,
        roll=roll,
        pitch_rate=np.gradient(pitch, dt),
        roll_rate=np.gradient(roll, dt),
        yaw_rate=yaw_rate,
        extra_acc=extra,
    )


def _sample_times(rng: np.random.Generator, rate_hz: float, duration: float) -> np.ndarray:
    """Seconds since recording start: nominal rate (with a small rate error) plus timing jitter."""
    actual = rate_hz * (1.0 + rng.uniform(-0.002, 0.002))
    offset = rng.uniform(0.0, 1.0 / rate_hz)
    n = int(math.floor((duration - offset) * actual))
    jitter = min(0.002, 0.2 / rate_hz)
    return offset + np.arange(n) / actual + rng.uniform(-jitter, jitter, n)


def _render(
    rng: np.random.Generator,
    subject: _Subject,
    mount: np.ndarray,
    latent: _Latent,
    segments: List[_Activity],
    starts: np.ndarray,
    ends: np.ndarray,
    t: np.ndarray,
    rate_hz: float,
    stream: str,
) -> np.ndarray:
    """Sensor-frame accelerometer (g) or gyroscope (rad/s) samples at times t, shape (len(t), 3)."""

    def at(values: np.ndarray) -> np.ndarray:
        return np.interp(t, latent.t, values)

    theta, stride, mod = at(latent.theta), at(latent.stride_hz), at(latent.mod)
    # exp(i k theta) for k = 1.._K (by repeated multiplication: much cheaper than _K complex exponentials)
    basis = np.cumprod(np.broadcast_to(np.exp(1j * theta)[:, None], (t.size, _K)), axis=1)
    # Anti-aliasing: fade harmonics out between 0.40 and 0.45 of the stream's sampling rate.
    cols = np.nonzero(_HARMONICS * stride.max() > 0.40 * rate_hz)[0]
    if cols.size:
        fade = np.clip((0.45 * rate_hz - np.outer(stride, _HARMONICS[cols])) / (0.05 * rate_hz), 0.0, 1.0)
        basis[:, cols] *= 0.5 - 0.5 * np.cos(math.pi * fade)
    trig = np.concatenate([basis.real, basis.imag], axis=1)  # Re(c e^{ik theta}) = Re c cos - Im c sin
    weights = _weights(t, starts, ends)
    gait = np.zeros((t.size, 9))  # acc (u, f, l) in g; swing angle and its rate about (u, f, l)
    for i, act in enumerate(segments):
        if act.is_static:
            continue
        idx = np.nonzero(weights[:, i] > 0.0)[0]
        if idx.size == 0:
            continue
        lo, hi = idx[0], idx[-1] + 1  # a segment's support is one contiguous stretch
        coef = np.concatenate([act.coef, act.coef[3:] * (1j * _HARMONICS)])  # (9, _K)
        gait[lo:hi] += weights[lo:hi, i, None] * (trig[lo:hi] @ np.concatenate([coef.real, -coef.imag], 1).T)
    dyn, swing, swing_rate = gait[:, :3], gait[:, 3:6], gait[:, 6:]
    dyn *= mod[:, None]
    swing *= mod[:, None]
    swing_rate *= (mod * 2.0 * math.pi * stride)[:, None]

    if stream == "accelerometer":
        pitch = at(latent.pitch) + swing[:, 2]
        roll = at(latent.roll) + swing[:, 1]
        gravity = np.stack(
            [np.cos(pitch) * np.cos(roll), np.sin(pitch) * np.cos(roll), np.sin(roll)], axis=1
        )
        extra = np.stack([at(latent.extra_acc[:, axis]) for axis in range(3)], axis=1)
        device = gravity + dyn + extra
        gain, bias, noise = subject.acc_gain, subject.acc_bias, subject.acc_noise
    else:
        device = np.stack(
            [
                at(latent.yaw_rate) + swing_rate[:, 0],
                at(latent.roll_rate) + swing_rate[:, 1],
                at(latent.pitch_rate) + swing_rate[:, 2],
            ],
            axis=1,
        )
        gain, bias, noise = subject.gyro_gain, subject.gyro_bias, subject.gyro_noise
    sensor = device @ mount.T
    return sensor * gain + bias + rng.normal(0.0, noise, sensor.shape)


# --------------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------------


def _strictly_increasing(ticks: np.ndarray) -> np.ndarray:
    """Bump equal/decreasing integer ticks so the sequence is strictly increasing."""
    ramp = np.arange(ticks.size, dtype=np.int64)
    return np.maximum.accumulate(ticks - ramp) + ramp


def _timestamps(epoch_us: np.ndarray, fmt: str, strict: bool = True) -> Tuple[np.ndarray, str]:
    """Timestamps from integer epoch microseconds (strictly increasing if `strict`), and their %-format.

    epoch_ms: float milliseconds with 3 decimals (exact: doubles near 1.7e12 resolve ~0.2 us);
    iso8601: strings with milliseconds and a 'Z' suffix.
    """
    if fmt == "epoch_ms":
        return (_strictly_increasing(epoch_us) if strict else epoch_us) / 1000.0, "%.3f"
    ms = np.round(epoch_us / 1000.0).astype(np.int64)
    ms = _strictly_increasing(ms) if strict else ms
    return np.char.add(np.datetime_as_string(ms.astype("datetime64[ms]"), unit="ms"), "Z"), "%s"


def _write_csv(path: Path, stamps: Tuple[np.ndarray, str], values: np.ndarray) -> None:
    column, spec = stamps
    rows = spec + ",%.5f,%.5f,%.5f\n"
    body = "".join(map(rows.__mod__, zip(column.tolist(), *values.T.tolist(), strict=True)))
    header = "timestamp,x,y,z"
    path.write_text(header + "\n" + body, encoding="utf-8", newline="\n")


def _write_recording(
    final: Path, texts: Dict[str, str], streams: Dict[str, Tuple[Tuple[np.ndarray, str], np.ndarray]]
) -> None:
    """Write into a temporary folder, then move it into place (never a half-written recording)."""
    tmp = final.parent / f".{final.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        for stream, (stamps, values) in streams.items():
            _write_csv(tmp / f"{stream}.csv", stamps, values)
        for name, text in texts.items():
            (tmp / name).write_text(text, encoding="utf-8", newline="\n")
        if final.exists():
            old = final.parent / f".{final.name}.old-{os.getpid()}"
            os.replace(final, old)
            os.replace(tmp, final)
            shutil.rmtree(old)
        else:
            os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


# --------------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------------


def _validate(
    activities: Sequence[str],
    n_subjects: int,
    recordings_per_subject: int,
    sampling_rate_hz: float,
    gyro_rate_hz: float | None,
    seconds_per_activity: float,
    transition_seconds: float,
    timestamp_format: str,
    first_subject: int,
    seed: int,
) -> List[str]:
    if isinstance(activities, str):
        raise ValueError(f"activities must be a sequence of names, not the string {activities!r}")
    names = list(activities)
    unknown = [name for name in names if name not in DEFAULT_ACTIVITIES]
    if unknown:
        raise ValueError(f"unknown activities {unknown}; supported: {list(DEFAULT_ACTIVITIES)}")
    if not names or len(set(names)) != len(names):
        raise ValueError(f"activities must be a non-empty list of unique names, got {names}")
    if timestamp_format not in TIMESTAMP_FORMATS:
        raise ValueError(f"timestamp_format must be one of {TIMESTAMP_FORMATS}, got {timestamp_format!r}")
    if int(seed) != seed or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    if n_subjects < 1 or recordings_per_subject < 1 or first_subject < 0:
        raise ValueError("n_subjects and recordings_per_subject must be >= 1 and first_subject >= 0")
    for label, rate in (("sampling_rate_hz", sampling_rate_hz), ("gyro_rate_hz", gyro_rate_hz)):
        if rate is not None and not (math.isfinite(rate) and rate > 0):
            raise ValueError(f"{label} must be a positive number, got {rate}")
    if not seconds_per_activity > 0 or not transition_seconds >= 0:
        raise ValueError("seconds_per_activity must be > 0 and transition_seconds >= 0")
    return names


def generate_dataset(
    out_dir: str | Path,
    *,
    seed: int = 42,
    n_subjects: int = 10,
    recordings_per_subject: int = 1,
    activities: Sequence[str] = DEFAULT_ACTIVITIES,
    sampling_rate_hz: float = 50.0,
    gyro_rate_hz: float | None = None,
    seconds_per_activity: float = 40.0,
    transition_seconds: float = 1.5,
    timestamp_format: str = "epoch_ms",
    first_subject: int = 1,
    start_epoch_s: float = 1_700_000_000.0,
    placement_mix: float = 0.0,
    orientation_deg: float = 0.0,
    other_wrist_fraction: float = 0.0,
    cadence_spread: float = 0.0,
    intensity_spread: float = 0.0,
    within_subject_noise: float = 0.0,
) -> list[str]:
    """Write a synthetic HAR dataset to `out_dir`; returns the recording ids written, sorted.

    Recording ids look like ``s01_r1`` (subject ``s01``, first recording). Subjects are numbered
    ``first_subject .. first_subject + n_subjects - 1``; a subject's parameters depend only on
    `seed` and its number. `gyro_rate_hz=None` samples the gyroscope at `sampling_rate_hz` (still
    independently of the accelerometer). Existing recordings with the same ids are replaced.

    The base model already varies mount, posture, cadence and gait shape a little per subject. The
    keyword arguments below add the larger differences between real people; all default to 0, which
    gives exactly the base model's files (byte for byte). ``configs/datasets/default.yaml`` turns them on.

    Parameters
    ----------
    placement_mix
        Share of subjects (0-1) who carry the device pocket-like on the thigh instead of the wrist: gait
        acceleration x1.2-1.6 with sharper heel strikes (more energy in higher harmonics), a strong leg
        swing about the lateral axis (gyroscope x1.8-2.6, less roll/yaw) and a horizontal device when
        sitting (75-95 degrees).
    orientation_deg
        Largest extra rotation (0-180 degrees, about a random axis; the angle is uniform up to it) of the
        device, both sensors together, per subject: a watch turned on its band, a phone upside down.
        Rotations keep |a| = 1 g at rest.
    other_wrist_fraction
        Share of subjects (0-1) wearing the watch on the other arm: turned 180 degrees about the forward
        axis, so the up and lateral sensor axes change sign.
    cadence_spread
        Relative (log-normal) spread of each subject's step rate over the base spread (walking 1.6-2.1
        Hz), shared by all gait activities: 0.1 moves a subject's cadences by ~10 %.
    intensity_spread
        Relative (log-normal) spread of each subject's movement amplitude (acceleration and swing), shared
        by all gait activities, plus half of it per activity: vigorous and gentle movers.
    within_subject_noise
        Extra variation within a subject, relative (0 = none, 1 = double): cycle-to-cycle cadence and
        amplitude variation, sensor noise, postural drift and sway scale by ``1 + within_subject_noise``;
        each activity bout gets its own effort (amplitude, 12 % per unit) and pace (3 % per unit), and
        each recording its own re-wear rotation (4 degrees std per unit).
    """
    variation = SubjectVariation(
        placement_mix=placement_mix,
        orientation_deg=orientation_deg,
        other_wrist_fraction=other_wrist_fraction,
        cadence_spread=cadence_spread,
        intensity_spread=intensity_spread,
        within_subject_noise=within_subject_noise,
    )
    variation.check()
    names = _validate(
        activities,
        n_subjects,
        recordings_per_subject,
        sampling_rate_hz,
        gyro_rate_hz,
        seconds_per_activity,
        transition_seconds,
        timestamp_format,
        first_subject,
        seed,
    )
    seed = int(seed)
    rates = {"accelerometer": float(sampling_rate_hz), "gyroscope": float(gyro_rate_hz or sampling_rate_hz)}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    # Recordings of one subject are spaced so they never overlap in time.
    longest = len(names) * (1.2 * seconds_per_activity + transition_seconds) + 10.0
    spacing = max(3600.0, math.ceil(longest / 600.0) * 600.0 + 600.0)

    written: List[str] = []
    for number in range(first_subject, first_subject + n_subjects):
        subject = _subject(seed, number)
        if variation.active:
            subject = _vary_subject(subject, seed, number, variation)
        for rec in range(1, recordings_per_subject + 1):
            rid = f"{subject.subject_id}_r{rec}"
            rng = np.random.default_rng([seed, 3, number, rec])
            order = [names[i] for i in rng.permutation(len(names))]
            activities, rewear = (
                _vary_recording(subject, seed, number, rec, variation)
                if variation.active
                else (subject.activities, None)
            )
            segments = [activities[name] for name in order]
            lengths = seconds_per_activity * rng.uniform(0.8, 1.2, len(order))
            lead_in, lead_out = rng.uniform(0.5, 2.0, 2)
            starts = lead_in + np.concatenate([[0.0], np.cumsum(lengths[:-1] + transition_seconds)])
            ends = starts + lengths
            duration = float(ends[-1] + lead_out)
            offset_s = (number - 1) * 86400.0 + (rec - 1) * spacing + rng.uniform(0.0, 600.0)
            epoch_us0 = int(round((start_epoch_s + offset_s) * 1e6))
            # re-wearing the device between recordings: a small change of the mount
            mount = subject.mount @ _rotation(rng.normal(size=3), rng.normal(0.0, 2.0) * _DEG)
            if rewear is not None:
                mount = mount @ rewear

            latent = _latent(rng, subject, segments, starts, ends, duration)
            streams = {}
            for stream in _STREAMS:
                t = _sample_times(rng, rates[stream], duration)
                data = _render(rng, subject, mount, latent, segments, starts, ends, t, rates[stream], stream)
                stamps = _timestamps(epoch_us0 + np.round(t * 1e6).astype(np.int64), timestamp_format)
                streams[stream] = (stamps, data)

            label_us = epoch_us0 + np.round(np.stack([starts, ends], axis=1) * 1e6).astype(np.int64)
            label_column, label_spec = _timestamps(label_us.ravel(), timestamp_format, strict=False)
            label_text = np.char.mod(label_spec, label_column).reshape(-1, 2)
            labels = "start,end,activity\n" + "".join(
                f"{a},{b},{name}\n" for (a, b), name in zip(label_text.tolist(), order, strict=True)
            )
            meta = {
                "subject": subject.subject_id,
                "device": f"synthetic-imu-{subject.subject_id}",
                "units": {"accelerometer": "g", "gyroscope": "rad/s"},
                "generator": {
                    "name": GENERATOR_NAME,
                    "version": GENERATOR_VERSION,
                    "seed": seed,
                    "start_epoch_s": float(start_epoch_s),
                    "subject_number": number,
                    "recording": rec,
                    "sampling_rate_hz": rates["accelerometer"],
                    "gyro_rate_hz": rates["gyroscope"],
                    "activities": names,
                    "activity_order": order,
                    "seconds_per_activity": float(seconds_per_activity),
                    "transition_seconds": float(transition_seconds),
                    "timestamp_format": timestamp_format,
                    "subject_params": subject.summary,
                    **({"variation": asdict(variation)} if variation.active else {}),
                },
            }
            _write_recording(
                out / rid,
                {"labels.csv": labels, "meta.json": json.dumps(meta, indent=2, sort_keys=True) + "\n"},
                streams,
            )
            written.append(rid)
    return sorted(written)
