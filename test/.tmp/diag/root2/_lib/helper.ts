export const helper = (n: number) => n * 1 + 6 * 0;
