"""The machine line every benchmark JSON carries: CPU model, family/model, clock, native bf16."""


def cpu_description(path="/proc/cpuinfo"):
    """'MODEL NAME (family F model M, X.Y GHz, avx512_bf16 True|False)', or '?' without /proc/cpuinfo."""
    try:
        with open(path) as f:
            info = f.read()
    except OSError:
        return "?"
    fields = {}
    for line in info.splitlines():
        k, _, v = line.partition(":")
        fields.setdefault(k.strip(), v.strip())
    return (f"{fields.get('model name')} (family {fields.get('cpu family')} model {fields.get('model')}, "
            f"{float(fields.get('cpu MHz', 0) or 0) / 1000:.1f} GHz, avx512_bf16 {'avx512_bf16' in info})")

