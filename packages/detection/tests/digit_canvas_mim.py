"""What the digit-canvas mim smoke tests share: a 12-iteration schedule on 24 train / 8 val canvases generated
into ``data_root``, single-threaded (see configs/digit_canvas/README.md)."""
ENV = {'OMP_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1'}


def small_opts(data_root, iters=12):
    """``--cfg-options`` for a short run of any config on the digit-canvas base (warm-up 4, then cosine)."""
    opts = [f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}',
            f'default_hooks.checkpoint.interval={iters}', 'default_hooks.logger.interval=4',
            'train_dataloader.batch_size=4', 'val_dataloader.batch_size=4', 'test_dataloader.batch_size=4',
            'param_scheduler.0.end=4', 'param_scheduler.1.begin=4', f'param_scheduler.1.end={iters}',
            f'param_scheduler.1.T_max={iters - 4}']
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        opts += [f'{loader}.dataset.data_root={data_root}', f'{loader}.dataset.generator.num_train=24',
                 f'{loader}.dataset.generator.num_val=8']
    return opts
