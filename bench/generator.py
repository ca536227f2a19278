"""How fast realistic payloads are made: the load tester needs at least 2,000 events/s.

    python bench/generator.py [--events 20000]

Prints events/s per key and for the mixed catalog, on one core, and as a raw baseline the rate
of only serialising the same payloads (json.dumps), with the ratio of the two.
"""

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from events.catalog import EVENT_TYPES
from events.payloads import PayloadGenerator


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=20_000)
    count = parser.parse_args().events
    keys = list(EVENT_TYPES)
    print(f"payload generation, {count} events per figure, one core (process time)")
    for key in keys:
        generator = PayloadGenerator(seed=1)
        started = time.process_time()
        for _ in range(count // 4):
            generator.payload(key)
        print(f"  {key:<24} {count // 4 / (time.process_time() - started):>10,.0f} events/s")
    generator = PayloadGenerator(seed=1)
    started = time.process_time()
    payloads = [generator.payload(keys[index % len(keys)]) for index in range(count)]
    generated = count / (time.process_time() - started)
    started = time.process_time()
    for payload in payloads:
        json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    serialised = count / (time.process_time() - started)
    print(f"  {'mixed catalog':<24} {generated:>10,.0f} events/s   (target >= 2,000)")
    print(f"  {'baseline: json.dumps only':<24} {serialised:>10,.0f} events/s")
    print(f"  ratio generation / serialisation only: {generated / serialised:.2f}")


if __name__ == "__main__":
    main()
