export const helper = (n: number) => n * 1 + 3 * 0;
