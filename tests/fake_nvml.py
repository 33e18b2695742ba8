"""A fake ``pynvml`` module for tests: no GPU is lent on this machine.

It mirrors the names the telemetry calls (and the real exception classes'
shape) and is injected at the import boundary, ``sys.modules['pynvml']``.
"""
import collections
import types

MIB = 2**20


class FakeDevice:

    def __init__(self, uuid, name, util, used_mib, total_mib, temp, power_mw,  # noqa: PLR0913  one fake GPU reading per NVML query
                 energy_mj=None):
        self.uuid, self.name, self.util = uuid, name, util
        self.used, self.total = used_mib * MIB, total_mib * MIB
        self.temp, self.power_mw = temp, power_mw
        self.energy_mj = energy_mj  # None: counter not supported.
        self.energy_step_mj = 5000
        self.fail = False


def make_fake_pynvml(devices, driver=b'550.54.15', init_error=None):
    """A module object mirroring the pynvml names the telemetry uses."""
    m = types.ModuleType('pynvml')

    class NVMLError(Exception):

        def __init__(self, value):
            super().__init__(value)
            self.value = value

    def subclass(name, value):
        cls = type(name, (NVMLError,),
                   {'__init__': lambda self: NVMLError.__init__(self, value)})
        setattr(m, name, cls)
        return cls

    m.NVMLError = NVMLError
    not_supported = subclass('NVMLError_NotSupported', 3)
    subclass('NVMLError_LibraryNotFound', 12)
    subclass('NVMLError_FunctionNotFound', 13)
    unknown = subclass('NVMLError_Unknown', 999)
    m.NVML_TEMPERATURE_GPU = 0
    m.calls = collections.Counter()

    def dev(handle):
        d = devices[handle]
        if d.fail:
            raise unknown()
        return d

    def init():
        m.calls['init'] += 1
        if init_error is not None:
            raise init_error(m)

    def energy(handle):
        d = dev(handle)
        if d.energy_mj is None:
            raise not_supported()
        d.energy_mj += d.energy_step_mj  # One step per read.
        return d.energy_mj

    def by_uuid(uuid):
        for i, d in enumerate(devices):
            if d.uuid == uuid:
                return i
        raise m.NVMLError_Unknown()

    m.nvmlInit = init
    m.nvmlDeviceGetCount = lambda: len(devices)
    m.nvmlDeviceGetHandleByIndex = lambda i: i  # Handles are plain ints here.
    m.nvmlDeviceGetHandleByUUID = by_uuid
    m.nvmlDeviceGetUUID = lambda h: dev(h).uuid
    m.nvmlDeviceGetName = lambda h: dev(h).name
    m.nvmlSystemGetDriverVersion = lambda: driver
    m.nvmlDeviceGetUtilizationRates = lambda h: types.SimpleNamespace(
        gpu=dev(h).util, memory=0)
    m.nvmlDeviceGetMemoryInfo = lambda h: types.SimpleNamespace(
        total=dev(h).total, used=dev(h).used, free=dev(h).total - dev(h).used)
    m.nvmlDeviceGetTemperature = lambda h, sensor: dev(h).temp
    m.nvmlDeviceGetPowerUsage = lambda h: dev(h).power_mw
    m.nvmlDeviceGetTotalEnergyConsumption = energy
    return m


def two_devices():
    return [
        FakeDevice('GPU-aaaa1111-0000', b'NVIDIA A100-SXM4-40GB', util=30,
                   used_mib=1024, total_mib=40960, temp=50, power_mw=100_000,
                   energy_mj=1_000_000),
        FakeDevice('GPU-bbbb2222-0000', 'NVIDIA H100 80GB HBM3', util=90,
                   used_mib=8192, total_mib=81920, temp=70, power_mw=300_000,
                   energy_mj=2_000_000),
    ]
