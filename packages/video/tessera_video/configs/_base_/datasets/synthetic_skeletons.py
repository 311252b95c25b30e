# SYNTHETIC skeleton actions (not real data): a 25-joint NTU RGB+D-layout figure with per-subject bone lengths,
# 3 camera views (-45, 0, +45 degrees) and 1 cm joint noise, performing 6 actions (raise left / right / both
# hands, wave both hands together / alternately, clap); 32 frames, camera-space metres, NTU's cross-subject
# split (6 train subjects: 216 samples, 4 test subjects: 144). Inputs (M, T, V, C) = (2, 32, 25, 3), the
# second body zero (NTU's two-body padding). Real NTU data: dataset_type='PoseDataset',
# ann_file='data/ntu60_3d.pkl', split='xsub_train' / 'xsub_val' (pyskl / mmaction2 .pkl).
dataset_type = 'SyntheticSkeletonActions'
data_cfg = dict(num_frames=32, num_subjects=10, num_train_subjects=6, repetitions=2, noise_std=0.01, num_persons=2,
                seed=0)
pipeline = [dict(type='PackActionInputs')]
train_dataloader = dict(
    batch_size=16, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, split='xsub_train', pipeline=pipeline, **data_cfg))
val_dataloader = dict(
    batch_size=48, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, split='xsub_val', pipeline=pipeline, **data_cfg))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1,))
test_evaluator = val_evaluator
