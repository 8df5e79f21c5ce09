"""The search space of scripts/tune.sh: a YAML file mapping config keys to distributions.

    sac.learning_rate: {type: float, low: 1.0e-4, high: 3.0e-3, log: true}
    sac.gamma:         {type: float, low: 0.95, high: 0.995}
    train.gradient_steps: {type: int, low: 1, high: 4}
    sac.net_arch:      {type: categorical, choices: [[64, 64], [256, 256]]}
    sac.ent_coef:      {type: categorical, choices: [auto, 0.05, 0.2]}
    sac.ent_coef_init: {type: float, low: 0.01, high: 1.0, log: true, when: {sac.ent_coef: auto}}

Fields: `type` (float | int | categorical); `low`, `high` (both included), `log`, `step` for
float and int; `choices` (numbers, strings, true/false, null, or lists such as [64, 64]) for
categorical; `when: {KEY: VALUE or [VALUES]}` samples the key only when each named categorical key
took one of those values (a conditional key, as Optuna's define-by-run spaces have them).

Every problem is a SpaceError naming the key and what is allowed. Whether the config accepts a
value (an unknown key, a range the key does not allow) is for the dodge binary to say: see
tune.py's check of every bound and choice before any training starts.
"""
import json
import math

import yaml

TYPES = ("float", "int", "categorical")
FIELDS = {
    "float": ("type", "low", "high", "log", "step", "when"),
    "int": ("type", "low", "high", "log", "step", "when"),
    "categorical": ("type", "choices", "when"),
}


class SpaceError(Exception):
    def __init__(self, key, message):
        super().__init__(f"{key}: {message}" if key else message)
        self.key = key


def set_text(value):
    """A value as `dodge train --set key=TEXT` (and YAML flow) spells it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value} is not a finite number")
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(set_text(v) for v in value) + "]"
    return str(value)


def _number(key, field, v, integer=False):
    if isinstance(v, bool) or v is None:
        raise SpaceError(key, f"{field} must be {'an integer' if integer else 'a number'}, got {set_text(v)}")
    if isinstance(v, str):  # YAML 1.1 reads 1e-4 (no dot) as a string
        try:
            v = float(v) if not integer else int(v)
        except ValueError:
            raise SpaceError(key, f"{field} must be {'an integer' if integer else 'a number'}, got {v!r}")
    if integer:
        if isinstance(v, float):
            if not v.is_integer():
                raise SpaceError(key, f"{field} must be an integer, got {v}")
            v = int(v)
        return int(v)
    v = float(v)
    if not math.isfinite(v):
        raise SpaceError(key, f"{field} must be a finite number, got {v}")
    return v


def _choice_label(value):
    """Optuna's categorical choices are None, bool, int, float or str: a list becomes its text."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return set_text(value)


class Param:
    def __init__(self, key, spec):
        if not isinstance(key, str) or "." not in key or key.startswith(".") or key.endswith("."):
            raise SpaceError(key, "a key is a config key section.key (e.g. sac.learning_rate)")
        if not isinstance(spec, dict):
            raise SpaceError(key, "expected a mapping such as {type: float, low: 0.001, high: 0.1}; "
                                  f"got {set_text(spec) if not isinstance(spec, str) else repr(spec)}")
        self.key = key
        kind = spec.get("type")
        if kind not in TYPES:
            raise SpaceError(key, f"type {kind!r} is not allowed; allowed: {', '.join(TYPES)}")
        self.type = kind
        unknown = [f for f in spec if f not in FIELDS[kind]]
        if unknown:
            raise SpaceError(key, f"field {unknown[0]!r} is not allowed for type {kind}; allowed: "
                                  f"{', '.join(FIELDS[kind])}")
        self.when = {}
        self.log = False
        self.step = None
        self.choices = None
        if kind in ("float", "int"):
            integer = kind == "int"
            for f in ("low", "high"):
                if f not in spec:
                    raise SpaceError(key, f"{kind} needs low and high")
            self.low = _number(key, "low", spec["low"], integer)
            self.high = _number(key, "high", spec["high"], integer)
            if not self.low < self.high:
                raise SpaceError(key, f"low ({set_text(self.low)}) must be below high ({set_text(self.high)})")
            log = spec.get("log", False)
            if not isinstance(log, bool):
                raise SpaceError(key, f"log must be true or false, got {set_text(log)}")
            self.log = log
            if log and self.low <= 0:
                raise SpaceError(key, f"log needs low > 0, got {set_text(self.low)}")
            if "step" in spec and spec["step"] is not None:
                if log:
                    raise SpaceError(key, "step and log cannot go together (Optuna's rule)")
                self.step = _number(key, "step", spec["step"], integer)
                if self.step <= 0:
                    raise SpaceError(key, f"step must be positive, got {set_text(self.step)}")
        else:
            choices = spec.get("choices")
            if not isinstance(choices, list) or not choices:
                raise SpaceError(key, "categorical needs choices: a non-empty list")
            for c in choices:
                if isinstance(c, dict) or (isinstance(c, list) and any(isinstance(x, (list, dict)) for x in c)):
                    raise SpaceError(key, f"choice {set_text(c) if not isinstance(c, dict) else c} is not allowed; "
                                          "allowed: numbers, strings, true/false, null, or a flat list")
            labels = [_choice_label(c) for c in choices]
            for i, lab in enumerate(labels):
                if any(_same(lab, other) for other in labels[:i]):
                    raise SpaceError(key, f"choice {set_text(choices[i])} is listed twice")
            self.choices = list(choices)
            self.labels = labels
        when = spec.get("when", {}) or {}
        if not isinstance(when, dict):
            raise SpaceError(key, "when must be a mapping {KEY: VALUE or [VALUES]}")
        # Normalised by Space, which knows whether the parent's choices are lists themselves.
        self.when = dict(when)

    # What a trial sets ---------------------------------------------------------------------------
    def suggest(self, trial):
        if self.type == "float":
            return trial.suggest_float(self.key, self.low, self.high, log=self.log, step=self.step)
        if self.type == "int":
            return trial.suggest_int(self.key, self.low, self.high, log=self.log, step=self.step or 1)
        label = trial.suggest_categorical(self.key, self.labels)
        return self.decode(label)

    def decode(self, label):
        """A stored parameter (Optuna's value) as the config value."""
        if self.type != "categorical":
            return label
        for lab, choice in zip(self.labels, self.choices):
            if _same(lab, label):
                return choice
        raise SpaceError(self.key, f"{set_text(label)} is not one of the choices {set_text(self.choices)}")

    def encode(self, value):
        """A config value (from --enqueue) as Optuna's parameter value; checks it is in the space."""
        if self.type == "categorical":
            lab = _choice_label(value)
            for l in self.labels:
                if _same(l, lab):
                    return l
            raise SpaceError(self.key, f"{set_text(value)} is not allowed; allowed: one of {set_text(self.choices)}")
        v = _number(self.key, "the value", value, self.type == "int")
        if not self.low <= v <= self.high:
            raise SpaceError(self.key, f"{set_text(v)} is not allowed; allowed: [{set_text(self.low)}, {set_text(self.high)}]")
        return v

    def probe_values(self):
        """The values whose acceptance by the config makes every value of the range acceptable:
        the bounds of a range (and the top value a step can reach), every choice."""
        if self.type == "categorical":
            return list(self.choices)
        vals = [self.low, self.high]
        if self.step:
            top = self.low + math.floor((self.high - self.low) / self.step + 1e-9) * self.step
            if self.type == "int":
                top = int(top)
            if top != self.high:
                vals.append(top)
        return vals

    def describe(self):
        d = {"type": self.type}
        if self.type == "categorical":
            d["choices"] = self.choices
        else:
            d.update({"low": self.low, "high": self.high})
            if self.log:
                d["log"] = True
            if self.step:
                d["step"] = self.step
        if self.when:
            d["when"] = self.when
        return d


def _same(a, b):
    return type(a) is type(b) and a == b if isinstance(a, bool) or isinstance(b, bool) else a == b


class Space:
    def __init__(self, params, path=""):
        self.path = path
        self.params = {p.key: p for p in params}
        for p in params:
            for parent, values in p.when.items():
                if parent not in self.params:
                    raise SpaceError(p.key, f"when names {parent}, which is not in the space")
                par = self.params[parent]
                if par.type != "categorical":
                    raise SpaceError(p.key, f"when names {parent}, a {par.type}; only a categorical key can "
                                            "be a condition")
                # {sac.net_arch: [64, 64]} names that one list choice; [[64, 64], [256, 256]] two.
                if not isinstance(values, list) or any(_same(_choice_label(values), l) for l in par.labels):
                    values = [values]
                p.when[parent] = values
                for v in values:
                    if not any(_same(_choice_label(v), lab) for lab in par.labels):
                        raise SpaceError(p.key, f"when {parent}: {set_text(v)} is not one of its choices "
                                                f"{set_text(par.choices)}")
        self.order = self._order()

    def _order(self):
        order, state = [], {}

        def visit(key, chain):
            if state.get(key) == "done":
                return
            if state.get(key) == "visiting":
                raise SpaceError(key, "its when conditions form a cycle: " + " -> ".join(chain + [key]))
            state[key] = "visiting"
            for parent in self.params[key].when:
                visit(parent, chain + [key])
            state[key] = "done"
            order.append(key)

        for k in self.params:
            visit(k, [])
        return order

    def active(self, key, values):
        """Whether KEY is sampled, given the config values chosen so far."""
        for parent, allowed in self.params[key].when.items():
            if parent not in values:
                return False
            if not any(_same(_choice_label(values[parent]), _choice_label(a)) for a in allowed):
                return False
        return True

    def suggest(self, trial):
        """Samples the trial's values, parents first; returns {key: config value}."""
        values = {}
        for key in self.order:
            if self.active(key, values):
                values[key] = self.params[key].suggest(trial)
        return values

    def values_of(self, params):
        """Optuna's stored params of a trial as {key: config value}."""
        return {k: self.params[k].decode(v) if k in self.params else v for k, v in params.items()}

    def encode(self, values):
        """{key: config value} (an --enqueue) as Optuna params, checked against the space."""
        out = {}
        for k, v in values.items():
            if k not in self.params:
                raise SpaceError(k, f"not in the space; its keys: {', '.join(self.params)}")
            out[k] = self.params[k].encode(v)
        return out

    def describe(self):
        return {k: self.params[k].describe() for k in self.order}

    def fingerprint(self):
        return json.dumps(self.describe(), sort_keys=True, default=str)


def load(path):
    """Reads and checks a space file; raises SpaceError (the key, what is allowed) or OSError."""
    with open(path) as f:
        text = f.read()
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise SpaceError("", f"{where}YAML syntax error: {getattr(e, 'problem', None) or e}")
    if data is None:
        raise SpaceError("", "the file is empty; expected a mapping of config keys such as "
                             "sac.learning_rate: {type: float, low: 1.0e-4, high: 1.0e-2, log: true}")
    if not isinstance(data, dict):
        raise SpaceError("", "expected a mapping of config keys to {type: ...} specs")
    return Space([Param(k, v) for k, v in data.items()], path)
