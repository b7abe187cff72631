"""Data-parallel training across processes and machines over MPI (``mpi4py``; ``pip install 'pyaccad[mpi]'``).

Every process holds the parameters and a shard of the data, computes its gradient with the compiled
function, and the gradients are averaged across processes. The same script runs as one process
(``python train.py``: a world of one, no MPI needed) or as many (``mpirun -n 4 python train.py``), with the
same result up to floating-point summation order. docs/distributed.md is the guide.

>>> import numpy as np
>>> from pyaccad import distributed as dist
>>> dist.rank(), dist.size()  # outside mpirun
(0, 1)
>>> dist.allreduce([np.ones(2)], op="mean")
[array([1., 1.])]
"""

from pyaccad.distributed.collectives import allreduce, broadcast, rank, shard, size
from pyaccad.distributed.parallel import data_parallel, value_and_grad_dp

__all__ = ["allreduce", "broadcast", "data_parallel", "rank", "shard", "size", "value_and_grad_dp"]
