"""The checkers of notebook 10's exercises accept the right answers and refuse wrong ones, naming what is wrong."""

from ardiff_edu.exercises.nb10 import check_grad_accum_that_fits, check_rank_rows, check_sampler_position


def test_rank_rows_checker():
    def rows(B, rank, W):
        if B % W:
            raise ValueError(f"{B} is not a multiple of {W}")
        return list(range(rank, B, W))

    assert check_rank_rows(rows)
    contiguous = check_rank_rows(lambda B, r, W: list(range(r * B // W, (r + 1) * B // W)))   # DDP's usual split
    assert not contiguous and "fn(4, 0, 2) (global batch 4, rank 0 of 2): expected rows [0, 2], got [0, 1]" in \
        contiguous.message
    silent = check_rank_rows(lambda B, r, W: list(range(r, B, W)))                         # no error for 6 / 4
    assert not silent and "fn(6, 0, 4) must raise ValueError" in silent.message
    assert "NotImplementedError" in check_rank_rows(lambda *a: (_ for _ in ()).throw(NotImplementedError)).message


def test_sampler_position_checker():
    def position(step, n, B, W):
        per_epoch = n // B
        return step // per_epoch, (step % per_epoch) * (B // W)

    assert check_sampler_position(position)
    per_process = check_sampler_position(lambda s, n, B, W: (s // (n // W // B), 0))    # epochs of one process
    assert not per_process and "fn(4, 23, 4, 1)" in per_process.message and "expected (epoch, start) = (0, 16)" in \
        per_process.message
    global_start = check_sampler_position(lambda s, n, B, W: (s // (n // B), (s % (n // B)) * B))   # not per process
    assert not global_start and "fn(7, 23, 4, 2)" in global_start.message


def test_grad_accum_checker():
    def fits(B, gpus, act, free):
        per_gpu = B // gpus
        for k in range(1, per_gpu + 1):
            if per_gpu % k == 0 and per_gpu // k * act <= free:
                return k
        raise ValueError("does not fit")

    assert check_grad_accum_that_fits(fits)
    ceil = check_grad_accum_that_fits(lambda B, g, act, free: -(-(B // g) * act // free))    # ignores divisibility
    assert not ceil and "fn(80, 8, 1.00 GiB, 3.00 GiB): expected 5 micro-batches of 2, got 4" in ceil.message
    no_error = check_grad_accum_that_fits(lambda B, g, act, free: fits(B, g, act, free) if act <= free else B // g)
    assert not no_error and "must raise ValueError" in no_error.message
