import { auName } from '../auNames.ts';
import type { VisibleFace } from './FaceTracks.ts';
import { boxInContent, type Rect } from './geometry.ts';

/** The face box colour: bright on dark and on skin, and what tests look for in the overlay's pixels. */
export const BOX_COLOUR = '#00e5ff';
const PANEL_BG = 'rgb(0 0 0 / 0.68)';
const TEXT = '#ffffff';
const MUTED = '#c8ced6';
const AU_ACTIVE = '#ffb020';
const AU_IDLE = '#7f8fa3';
const TRAIL = '#b9a7ff';
const PANEL_W = 210;
const CIRCLE = 70;
const AU_ROW = 12;
/** Below this view width (CSS px) the full panel would cover much of the face: the compact overlay is drawn. */
export const COMPACT_BELOW_PX = 520;
/** Radius of the compact overlay's valence/arousal dot's circle. */
const DOT_CIRCLE = 11;

/**
 * `full`: box, label, the valence/arousal circumplex with its trail and the AU bars; `compact` (small
 * tiles): box, label and a small valence/arousal circle with the current point only.
 */
export type OverlayDetail = 'full' | 'compact';

/** One face's overlay, in `content` (the video's picture within the view). */
export function drawFace(ctx: CanvasRenderingContext2D, face: VisibleFace, content: Rect, mirrored: boolean, detail: OverlayDetail): void {
  const { event } = face;
  const box = boxInContent(event.box, content, mirrored);
  // The panel is sized for a ~500 px wide view; smaller tiles (phones) shrink it, down to still legible text.
  const scale = Math.min(1, Math.max(0.7, content.w / 520));
  ctx.save();
  ctx.globalAlpha = face.alpha;

  ctx.lineWidth = detail === 'full' ? 3 : 2;
  ctx.strokeStyle = BOX_COLOUR;
  ctx.strokeRect(box.x, box.y, box.w, box.h);

  const probability = event.expression.probs[event.expression.label] ?? 0;
  const label = `${event.expression.label} ${Math.round(probability * 100)}%`;
  ctx.font = `bold ${Math.round(14 * scale)}px system-ui, sans-serif`;
  const labelH = Math.round(20 * scale);
  const labelW = ctx.measureText(label).width + 10 * scale;
  // Above the box when there is room, else just inside its top edge.
  const labelY = box.y - labelH >= content.y ? box.y - labelH : box.y;
  ctx.fillStyle = PANEL_BG;
  ctx.fillRect(box.x, labelY, labelW, labelH);
  ctx.fillStyle = TEXT;
  ctx.textBaseline = 'middle';
  ctx.fillText(label, box.x + 5 * scale, labelY + labelH / 2);
  if (detail === 'compact') {
    drawValenceArousalDot(ctx, face, box, content);
    ctx.restore();
    return;
  }

  const auLabels = Object.keys(event.aus);
  const panelH = (CIRCLE + 14 + auLabels.length * AU_ROW + 8) * scale;
  const panelW = PANEL_W * scale;
  // Beside the box, on the side with more room; where neither side has enough, against that side's edge of
  // the video (covering as little of the face as it can).
  const roomRight = content.x + content.w - (box.x + box.w);
  const roomLeft = box.x - content.x;
  const px =
    roomRight >= roomLeft
      ? Math.max(content.x, Math.min(box.x + box.w + 6, content.x + content.w - panelW))
      : Math.min(content.x + content.w - panelW, Math.max(content.x, box.x - 6 - panelW));
  const py = Math.max(content.y, Math.min(box.y, content.y + content.h - panelH));
  ctx.translate(px, py);
  ctx.scale(scale, scale);
  ctx.fillStyle = PANEL_BG;
  ctx.fillRect(0, 0, PANEL_W, panelH / scale);
  drawCircumplex(ctx, face, 6, 6);
  drawAuBars(ctx, face, 6, CIRCLE + 14);
  ctx.restore();
}

/** The valence/arousal plane's frame: a circle of radius r around (cx, cy), with its two axes. */
function drawAxes(ctx: CanvasRenderingContext2D, cx: number, cy: number, r: number): void {
  ctx.strokeStyle = MUTED;
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.arc(cx, cy, r, 0, 2 * Math.PI);
  ctx.moveTo(cx - r, cy);
  ctx.lineTo(cx + r, cy);
  ctx.moveTo(cx, cy - r);
  ctx.lineTo(cx, cy + r);
  ctx.stroke();
}

/** The compact overlay's valence/arousal: a small circle inside the box's lower right corner, and the point. */
function drawValenceArousalDot(ctx: CanvasRenderingContext2D, face: VisibleFace, box: Rect, content: Rect): void {
  const r = DOT_CIRCLE;
  const cx = Math.min(box.x + box.w - r - 3, content.x + content.w - r - 3);
  const cy = Math.min(box.y + box.h - r - 3, content.y + content.h - r - 3);
  ctx.fillStyle = PANEL_BG;
  ctx.beginPath();
  ctx.arc(cx, cy, r + 2, 0, 2 * Math.PI);
  ctx.fill();
  drawAxes(ctx, cx, cy, r);
  ctx.fillStyle = AU_ACTIVE;
  ctx.beginPath();
  ctx.arc(cx + face.event.valence * r, cy - face.event.arousal * r, 3, 0, 2 * Math.PI);
  ctx.fill();
}

/** Valence (x) / arousal (y) in [-1, 1]: the current point and the recent trail. */
function drawCircumplex(ctx: CanvasRenderingContext2D, face: VisibleFace, x: number, y: number): void {
  const r = CIRCLE / 2;
  const cx = x + r;
  const cy = y + r;
  drawAxes(ctx, cx, cy, r);
  const at = (v: number, a: number) => [cx + v * r, cy - a * r] as const;
  ctx.strokeStyle = TRAIL;
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  face.trail.forEach(({ valence, arousal }, i) => {
    const [tx, ty] = at(valence, arousal);
    if (i === 0) ctx.moveTo(tx, ty);
    else ctx.lineTo(tx, ty);
  });
  ctx.stroke();
  const [px, py] = at(face.event.valence, face.event.arousal);
  ctx.fillStyle = AU_ACTIVE;
  ctx.beginPath();
  ctx.arc(px, py, 4, 0, 2 * Math.PI);
  ctx.fill();
  ctx.fillStyle = TEXT;
  ctx.font = '11px system-ui, sans-serif';
  ctx.textBaseline = 'top';
  ctx.fillText(`valence ${face.event.valence.toFixed(2)}`, x + CIRCLE + 8, y + 14);
  ctx.fillText(`arousal ${face.event.arousal.toFixed(2)}`, x + CIRCLE + 8, y + 30);
}

/** One bar per action unit, its length the probability, amber while the AU is active. */
function drawAuBars(ctx: CanvasRenderingContext2D, face: VisibleFace, x: number, y: number): void {
  const barX = x + 140;
  const barW = PANEL_W - barX - 6;
  ctx.font = '10px system-ui, sans-serif';
  ctx.textBaseline = 'middle';
  Object.entries(face.event.aus).forEach(([label, { p, active }], i) => {
    const rowY = y + i * AU_ROW;
    ctx.fillStyle = active ? TEXT : MUTED;
    ctx.fillText(auName(label), x, rowY + AU_ROW / 2, 136);
    ctx.fillStyle = 'rgb(255 255 255 / 0.15)';
    ctx.fillRect(barX, rowY + 2, barW, AU_ROW - 4);
    ctx.fillStyle = active ? AU_ACTIVE : AU_IDLE;
    ctx.fillRect(barX, rowY + 2, barW * p, AU_ROW - 4);
  });
}
