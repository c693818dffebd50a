import { z } from 'zod';

/**
 * `bundle.json`: what travels with every exported model so that the CLI, the server and the web page
 * preprocess and label exactly as training did. The ONNX graph takes `input` as NHWC float32 RGB in
 * [0, 255] (normalisation is inside the graph) and returns softmax probabilities as `probabilities`.
 */
export const BundleMetaSchema = z
  .object({
    format: z.literal('lesionlab-model'),
    version: z.literal(1),
    name: z.string().min(1),
    backbone: z.string().min(1),
    classes: z.array(z.string().min(1)).min(2),
    preprocess: z
      .object({
        width: z.number().int().positive(),
        height: z.number().int().positive(),
        resize: z.enum(['stretch', 'pad', 'crop']),
        colorConstancy: z.boolean(),
      })
      .strict(),
    normalization: z
      .object({
        mean: z.tuple([z.number(), z.number(), z.number()]),
        std: z.tuple([z.number(), z.number(), z.number()]),
      })
      .strict(),
    onnx: z
      .object({
        file: z.string().min(1),
        input: z.string().min(1),
        probabilities: z.string().min(1),
        /** Optional class-activation output [N, h, w, classes] for heatmaps. */
        cam: z.string().min(1).optional(),
      })
      .strict(),
    tfjs: z
      .object({ file: z.string().min(1) })
      .strict()
      .optional(),
    metrics: z.record(z.string(), z.unknown()).optional(),
    createdAt: z.string(),
  })
  .strict();

/** The parsed, validated content of a model bundle's `bundle.json`. */
export type BundleMeta = z.infer<typeof BundleMetaSchema>;
