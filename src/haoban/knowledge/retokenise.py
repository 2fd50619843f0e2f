"""Re-tokenising chunks when older-format keyword segments are rebuilt, in a separate process.

jieba is pure Python: tokenising in a thread of the serving process holds the GIL against every search (p95
about doubled while a rebuild ran). A child process (`python -m haoban.knowledge.retokenise`, so no module of
the caller's is imported again) uses another core instead. Protocol: one JSON line in per batch, a list of
[title, heading path, text]; one JSON line out, their index tokens joined by spaces, as ingest stores them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from haoban.knowledge.prepare import index_tokens, title_tokens

Item = tuple[str | None, str, str]  # (document title, heading path, chunk text)


def tokenise(items: list[Item]) -> list[str]:
    titles: dict[str | None, list[str]] = {}
    out = []
    for title, path, text in items:
        if title not in titles:
            titles[title] = title_tokens(title or "")
        out.append(" ".join(index_tokens(titles[title], path, text)))
    return out


class TokeniserProcess:
    def __init__(self) -> None:
        env = dict(os.environ)
        # The child imports haoban from wherever this process did (a source checkout need not be installed).
        root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "haoban.knowledge.retokenise"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            text=True,
            encoding="utf-8",
        )

    def __call__(self, items: list[Item]) -> list[str]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(items, ensure_ascii=False) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise OSError(f"tokeniser process exited (code {self.proc.poll()})")
        tokens = json.loads(line)
        if len(tokens) != len(items):
            raise OSError("tokeniser process answered the wrong number of items")
        return tokens

    def close(self) -> None:
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()


def main() -> None:
    for line in sys.stdin:
        sys.stdout.write(json.dumps(tokenise(json.loads(line)), ensure_ascii=False) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
