import { DOMWidgetModel, DOMWidgetView, ISerializers } from '@jupyter-widgets/base';

import { CarbonEvent, IBudgetCrossing, ICarbonClient, IRun } from '../tokens';
import { CarbonDrawing, ICarbonSource, IDrawingContext } from './drawing';
import {
  addPower,
  budgetOfRun,
  ILiveMeter,
  IWidgetBudget,
  IWidgetSummary,
  startMeter,
  summaryOfRun,
  WidgetStatus
} from './state';

/** The module name the kernel's widget names (`_model_module`). */
export const MODULE_NAME = 'jupyterlab-carbon';

/** How many budget crossings are remembered for widgets not drawn yet. */
const MAX_CROSSINGS = 100;

/** The model and view classes, bound to the client and the translations of this page. */
export interface IWidgetClasses {
  CarbonModel: typeof DOMWidgetModel;
  CarbonView: typeof DOMWidgetView;
}

/**
 * The %%carbon widget's classes. The model follows the server's events for its msg_id (live power,
 * budget crossed, the run record); the views only draw it, so a view re-created when the kernel
 * updates the output keeps the live figures.
 */
export function widgetClasses(context: IDrawingContext, version: string): IWidgetClasses {
  const client = context.client;
  // Budgets crossed, by msg_id: the server may say so before the kernel's widget reaches the page.
  const crossings = new Map<string, IBudgetCrossing>();
  client.events.connect((_, event) => {
    if (event.type === 'budget') {
      crossings.set(event.msg_id, event.budget);
      if (crossings.size > MAX_CROSSINGS) {
        crossings.delete(crossings.keys().next().value as string);
      }
    }
  });

  class CarbonModel extends DOMWidgetModel {
    static serializers: ISerializers = { ...DOMWidgetModel.serializers };

    defaults(): Backbone.ObjectHash {
      return {
        ...super.defaults(),
        _model_name: 'CarbonModel',
        _view_name: 'CarbonView',
        _model_module: MODULE_NAME,
        _view_module: MODULE_NAME,
        _model_module_version: version,
        _view_module_version: version,
        msg_id: '',
        experiment: '',
        run_name: '',
        budget: {},
        status: 'running',
        started_at: 0,
        summary: {},
        details: []
      };
    }

    /**
     * Node power integrated since the start; null once the body ended. Declared, not initialised:
     * Backbone calls initialize() from its constructor, before class field initialisers would run.
     */
    declare meter: ILiveMeter | null;

    initialize(
      attributes: Backbone.ObjectHash,
      options: { model_id: string; comm?: unknown; widget_manager: any }
    ): void {
      super.initialize(attributes, options);
      this.meter = this.get('status') === 'running' ? startMeter(this.get('started_at') as number) : null;
      const crossing = crossings.get(this.get('msg_id') as string);
      if (crossing) {
        this._addBudget(crossing);
      }
      this.on('change:status', () => {
        if (this.get('status') !== 'running') {
          this.meter = null;
          this.trigger('carbon:changed');
        }
      });
      client.events.connect(this._onEvent, this);
      this.once('comm:close destroy', () => client.events.disconnect(this._onEvent, this));
    }

    /** The server's record of this execution arrived (or was found): its figures replace the kernel's. */
    setRun(run: IRun): void {
      this.meter = null;
      const budget = budgetOfRun(run);
      if (budget) {
        this.set('budget', { ...(this.get('budget') as IWidgetBudget), ...budget });
      }
      this.set('summary', summaryOfRun(run));
      this.save_changes();
    }

    private _addBudget(crossing: IBudgetCrossing): void {
      this.set('budget', { ...(this.get('budget') as IWidgetBudget), ...crossing });
      this.save_changes();
    }

    private _onEvent(_: ICarbonClient, event: CarbonEvent): void {
      const msgId = this.get('msg_id') as string;
      if (event.type === 'power') {
        if (this.meter !== null && event.total_w !== null) {
          this.meter = addPower(this.meter, event.total_w, event.time);
          this.trigger('carbon:changed');
        }
      } else if (event.type === 'budget' && event.msg_id === msgId) {
        this._addBudget(event.budget);
      } else if (event.type === 'run' && event.run.msg_id === msgId) {
        this.setRun(event.run);
      }
    }
  }

  class CarbonView extends DOMWidgetView {
    render(): void {
      const model = this.model as CarbonModel;
      const source: ICarbonSource = {
        id: model.model_id,
        get msgId() {
          return model.get('msg_id') as string;
        },
        get experiment() {
          return model.get('experiment') as string;
        },
        get status() {
          return model.get('status') as WidgetStatus;
        },
        get summary() {
          return model.get('summary') as IWidgetSummary;
        },
        get budget() {
          return model.get('budget') as IWidgetBudget;
        },
        get meter() {
          return model.meter;
        },
        setRun: run => model.setRun(run)
      };
      const drawing = new CarbonDrawing(this.el, source, context);
      this._drawing = drawing;
      this.listenTo(this.model, 'change carbon:changed', () => drawing.draw());
      this.listenTo(this.model, 'change:summary', () => void drawing.loadHistory());
      drawing.start();
    }

    remove(): this {
      this._drawing?.dispose();
      return super.remove();
    }

    private _drawing: CarbonDrawing | null = null;
  }

  return { CarbonModel, CarbonView };
}
