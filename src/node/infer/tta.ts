import type { BundleMeta } from '../../core/bundle/meta.js';
import { expectedOneOf } from '../../core/errors.js';
import { type DihedralView, TTA_MODES, type TtaMode, viewsOfMode } from '../../core/preprocess/views.js';

export { TTA_MODES, type TtaMode } from '../../core/preprocess/views.js';

/**
 * Test-time views asked for: `recipe` = the views the bundle's model was evaluated with in training
 * (`bundle.json` `testViews`; the image only for bundles written before it was recorded), or a named set.
 */
export type TtaChoice = 'recipe' | TtaMode;

/** Valid `--tta` values, the default first. */
export const TTA_CHOICES: readonly TtaChoice[] = ['recipe', ...TTA_MODES];

/** The views a classifier runs for `choice` on the bundle `meta`. */
export function resolveViews(
  choice: TtaChoice,
  meta: Pick<BundleMeta, 'testViews'>,
): readonly DihedralView[] {
  if (choice === 'recipe') return meta.testViews ?? ['identity'];
  if (!(TTA_MODES as readonly string[]).includes(choice)) {
    throw expectedOneOf(TTA_CHOICES, {
      where: 'the test-time views',
      received: choice,
      fix: "recipe uses the bundle's own",
      code: 'E_CONFIG',
    });
  }
  return viewsOfMode(choice);
}
