/** How long recent jobs took at Luma: their median estimates the next one's (progress lines, poll pacing). */
export class RecentDurations {
  private readonly durations: number[] = [];
  private median: number | undefined;

  /** Median processing time of recent jobs, ms (asked at every poll and progress edit: kept until the next job ends). */
  estimateMs(): number | undefined {
    if (this.durations.length < 3) return undefined;
    if (this.median === undefined) {
      const sorted = [...this.durations].sort((a, b) => a - b);
      this.median = sorted[Math.floor(sorted.length / 2)];
    }
    return this.median;
  }

  record(ms: number): void {
    this.durations.push(ms);
    if (this.durations.length > 25) this.durations.shift();
    this.median = undefined;
  }
}
