// The exact dihedral views live in core/preprocess/views.ts (one implementation for training, Node and the
// browser); re-exported here for the training code that imported them from this module.
export { dihedralView } from '../preprocess/views.js';
