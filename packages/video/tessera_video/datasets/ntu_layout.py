"""The 25-joint Kinect v2 skeleton of NTU RGB+D (Shahroudy et al., arXiv:1604.02808), 0-based indices.

``NTU_JOINTS`` lists the joint names in the files' order; ``NTU_PARENTS`` gives each joint's parent in the
kinematic tree rooted at the base of the spine (-1), ``NTU_BONES`` the (child, parent) pairs. The hand tips and
thumbs hang from the hands (the anatomical reading of Kinect's layout).
"""
NTU_JOINTS = (
    'spine_base', 'spine_mid', 'neck', 'head',                                       # 0-3
    'shoulder_left', 'elbow_left', 'wrist_left', 'hand_left',                         # 4-7
    'shoulder_right', 'elbow_right', 'wrist_right', 'hand_right',                     # 8-11
    'hip_left', 'knee_left', 'ankle_left', 'foot_left',                               # 12-15
    'hip_right', 'knee_right', 'ankle_right', 'foot_right',                           # 16-19
    'spine_shoulder', 'hand_tip_left', 'thumb_left', 'hand_tip_right', 'thumb_right',  # 20-24
)
NTU_PARENTS = (-1, 0, 20, 2, 20, 4, 5, 6, 20, 8, 9, 10, 0, 12, 13, 14, 0, 16, 17, 18, 1, 7, 7, 11, 11)
NTU_BONES = tuple((j, p) for j, p in enumerate(NTU_PARENTS) if p >= 0)
NUM_JOINTS = len(NTU_JOINTS)
