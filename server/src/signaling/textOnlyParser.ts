import { Decoder, Encoder, PacketType } from 'socket.io-parser';

/**
 * socket.io's parser, refusing binary. No request carries any, and a packet announcing attachments has
 * the server keep what follows in memory until they have all come. A throw here closes the connection.
 */
class TextOnlyDecoder extends Decoder {
  override add(chunk: unknown): void {
    const type = typeof chunk === 'string' ? Number(chunk[0]) : undefined;
    if (type === undefined || type === PacketType.BINARY_EVENT || type === PacketType.BINARY_ACK) {
      throw new Error('binary packets are not accepted');
    }
    super.add(chunk);
  }
}

export const textOnlyParser = { Encoder, Decoder: TextOnlyDecoder };
