import type { AffectEvent } from '../../../protocol/affect-event.ts';
import type { AffectModelInfo } from '../vision/affectContract.ts';

/**
 * One row per face per frame, wide like OpenFace's FeatureExtraction table: the model's labels give the columns,
 * so every row has the same ones. Box as fractions of the frame (as in the events); AUs as probability (`_p`) and
 * active flag (`_c`, 0/1, OpenFace's "class" column).
 */
export function csvHeader(labels: Pick<AffectModelInfo, 'expressionLabels' | 'auLabels'>): string {
  return [
    'frame', 'timestamp', 'face_id', 'confidence', 'box_x', 'box_y', 'box_w', 'box_h', 'valence', 'arousal', 'expression',
    ...labels.expressionLabels.map((l) => `p_${l}`),
    ...labels.auLabels.map((l) => `${l}_p`),
    ...labels.auLabels.map((l) => `${l}_c`),
  ].join(',');
}

const num = (v: number) => String(Math.round(v * 1e6) / 1e6);

export function csvRow(labels: Pick<AffectModelInfo, 'expressionLabels' | 'auLabels'>, frame: number, event: AffectEvent & { sourceTime?: number }): string {
  const { box } = event;
  return [
    frame, ((event.sourceTime ?? 0) / 1000).toFixed(3), event.faceId, num(event.detScore),
    num(box.x), num(box.y), num(box.w), num(box.h), num(event.valence), num(event.arousal), event.expression.label,
    ...labels.expressionLabels.map((l) => num(event.expression.probs[l] ?? 0)),
    ...labels.auLabels.map((l) => num(event.aus[l]?.p ?? 0)),
    ...labels.auLabels.map((l) => (event.aus[l]?.active ? 1 : 0)),
  ].join(',');
}
