"""Where a process spends its CPU: py-spy samples, turned into µs per message.

cProfile's overhead per call inflates code made of many small calls, such
as Home Assistant's state machinery. py-spy samples the process from
outside, without changing it; each function's share of the samples, times
the CPU the process really spent per message in the same window, gives its
cost per message.
"""

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
import shutil
import subprocess
import sys

RATE_HZ = 1000
"""Samples per second: about what py-spy keeps up with without pausing the
process (at 4000 it took a core and still delivered about 1000)."""
EVERYWHERE = 0.97
"""Share of the samples above which a frame is left out of the table."""
WAITING = ("EpollSelector.select (", "Condition.wait (", "Event.wait (")
"""Innermost frames of a thread that waits: py-spy cannot tell that a thread
blocked in these uses no CPU, so their samples are left out."""


@dataclass(frozen=True)
class Samples:
    """Sampled stacks (outermost frame first) and how often each was seen."""

    stacks: Counter[tuple[str, ...]]

    @classmethod
    def read(cls, path: Path) -> Samples:
        """Read py-spy's raw (collapsed stack) output."""
        stacks: Counter[tuple[str, ...]] = Counter()
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if stack and count.isdigit():
                stacks[tuple(_short(frame) for frame in stack.split(";"))] += int(count)
        return cls(stacks)

    def table(self, ms_per_message: float, count: int) -> list[str]:
        """Return the functions with the most CPU, in µs per message.

        ``ms_per_message`` is the CPU the process spent per message while
        the samples were taken; each function gets its share of it.
        """
        working = {
            stack: seen
            for stack, seen in self.stacks.items()
            if not stack[-1].startswith(WAITING)
        }
        total = sum(working.values())
        if not total:
            return ["no samples"]
        inclusive: Counter[str] = Counter()
        own: Counter[str] = Counter()
        for stack, seen in working.items():
            for frame in set(stack):
                inclusive[frame] += seen
            own[stack[-1]] += seen
        scale = 1000 * ms_per_message / total
        lines = [
            f"{total} samples of work; {ms_per_message:.4f} ms CPU per message",
            "  incl µs/msg  own µs/msg  function (by time including callees)",
        ]
        # Frames in (nearly) every sample, from the module to the event loop's
        # run_forever, say nothing about where the time goes.
        lines.extend(
            f"  {scale * seen:11.1f} {scale * own[frame]:11.1f}  {frame}"
            for frame, seen in inclusive.most_common()
            if seen < EVERYWHERE * total
        )
        del lines[count + 2 :]
        lines.append("  own µs/msg  function (by own time)")
        lines.extend(
            f"  {scale * seen:11.1f}  {frame}" for frame, seen in own.most_common(count)
        )
        return lines


def _short(frame: str) -> str:
    """Drop the folders before the package in ``function (path:line)``."""
    for marker in ("site-packages/", "custom_components/", "python3.14/"):
        if marker in frame:
            name, _, rest = frame.partition(" (")
            return f"{name} ({rest.rsplit(marker, 1)[1]}"
    return frame


def record(pid: int, seconds: float, output: Path) -> subprocess.Popen[bytes]:
    """Start sampling a process for ``seconds``; wait on the returned process."""
    program = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    return subprocess.Popen(  # noqa: S603 - fixed program and arguments
        [
            program,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(max(1, round(seconds))),
            "--rate",
            str(RATE_HZ),
            "--format",
            "raw",
            "--function",
            "--nonblocking",
            "--output",
            str(output),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
